# AnyEvent::Task: modules, versions, loading rules, the companions
# (Callback::Frame, Log::Defer) with and without an installed copy,
# constructor errors
use strict;
use warnings;
use lib "t/lib";
use AEFHelp qw(run_cmd perl_cmd);
use File::Temp ();
use Test::More;

sub perl_ok {
   my ($code, $want, $name, @inc) = @_;
   my ($st, $out, $err) = run_cmd ({}, perl_cmd ((map "-I$_", @inc), "-e", $code));
   is ("$out$err", $want, $name);
}

perl_ok (q{
   use AnyEvent::Task;
   print $AnyEvent::Task::VERSION, " ", join (",", sort grep m{^(AnyEvent|Callback|Log|JSON)}, keys %INC), "\n";
}, "0.805 AnyEvent/Task.pm\n", "AnyEvent::Task: version only, loads nothing");

perl_ok (q{
   use AnyEvent::Task::Server;
   use AnyEvent::Task::Client;
   use AnyEvent::Task::Logger;
   use Callback::Frame;
   use Log::Defer;
   print defined $AnyEvent::MODEL ? "model\n" : "no model\n";
   print join (" ", map { $INC{$_} ? 1 : 0 } qw(AnyEvent/Task/Server/Worker.pm AnyEvent/Task/Util.pm AnyEvent/Task/Client/Checkout.pm)), "\n";
   my $cv = AE::cv; print ref $cv, "\n";
   print defined &main::logger ? "logger\n" : "no logger\n";
   print defined &AnyEvent::Task::Server::fork_task_server && !defined &main::fork_task_server ? "qualified\n" : "exported?\n";
}, "no model\n1 1 1\nAnyEvent::CondVar\nlogger\nqualified\n",
   "loading creates no watcher; Server and Client load their parts and AnyEvent");

perl_ok (q{
   use AnyEvent::Task::Logger;
   my $l = Log::Defer->new (sub {});
   print ref $l, " ", $Callback::Frame::VERSION ? "frame" : "no frame", "\n";
}, "Log::Defer no frame\n", "after the Logger alone Log::Defer->new works");

perl_ok (q{
   use AnyEvent::Task::Client;
   use Callback::Frame;
   use Log::Defer;
   print "$Callback::Frame::VERSION $Log::Defer::VERSION ", (grep ref, @INC)[-1] == $INC[-1] ? "hook last" : "hook not last", "\n";
   print $INC{"Callback/Frame.pm"} =~ m{/AnyEvent/Task/Companion/CallbackFrame\.pm\z} ? "ours\n" : "other: $INC{'Callback/Frame.pm'}\n";
}, "1.102 0.312 hook last\nours\n", "no installed copy: our companions, served from the end of \@INC");

# an "installed" newer copy, earlier in @INC, wins; the client works with it
{
   my $dir = File::Temp->newdir;
   mkdir "$dir/Callback"; mkdir "$dir/Log";
   for (["Callback/Frame.pm", "CallbackFrame.pm", "9.901"], ["Log/Defer.pm", "LogDefer.pm", "9.902"]) {
      my ($dst, $src, $v) = @$_;
      my ($path) = grep -f, map "$_/AnyEvent/Task/Companion/$src", @INC;
      open my $in, "<", $path or die "$path: $!";
      local $/;
      (my $code = <$in>) =~ s/our \$VERSION = '[^']+'/our \$VERSION = '$v'/ or die;
      open my $out, ">", "$dir/$dst" or die;
      print $out $code;
   }
   perl_ok (q{
      use AnyEvent::Task::Server;
      use AnyEvent::Task::Client;
      use AnyEvent::Task::Logger;
      use Callback::Frame;
      my $dir = File::Temp->newdir;
      AnyEvent::Task::Server::fork_task_server (listen => ['unix/', "$dir/s"], interface => sub { logger->info ("w"); $_[0] * 2 });
      my $c = AnyEvent::Task::Client->new (connect => ['unix/', "$dir/s"]);
      my $cv = AE::cv;
      my $log = Log::Defer->new (sub {});
      frame_try { $c->checkout (log_defer_object => $log, timeout => 10)->(21, sub { $cv->send ($_[1]) }) } frame_catch { $cv->send ($@) };
      print $cv->recv, " $Callback::Frame::VERSION $Log::Defer::VERSION ", scalar @{ $log->{msg}{logs} }, "\n";
      print $INC{"Callback/Frame.pm"} =~ m{/Callback/Frame.pm\z} && $INC{"Log/Defer.pm"} =~ m{/Log/Defer.pm\z} ? "installed\n" : "not installed\n";
   } . " use File::Temp;", "42 9.901 9.902 1\ninstalled\n", "an installed copy earlier in \@INC wins and is used", "$dir");
}

# A call's callback runs under a bare frame record with our Callback::Frame
# and under a real frame with any other: both behave the same (results,
# $@ in the callback, traces, frames made inside the callback, errors of
# the callback itself). "Another" is our copy without its private hooks.
{
   my $code = q{
      use AnyEvent::Task::Server;
      use AnyEvent::Task::Client;
      use Callback::Frame;
      use File::Temp;
      my $dir = File::Temp->newdir;
      AnyEvent::Task::Server::fork_task_server (listen => ['unix/', "$dir/s"],
         interface => { ok => sub { $_[0] * 2 }, error => sub { die "bad\n" } });
      my $c = AnyEvent::Task::Client->new (connect => ['unix/', "$dir/s"], name => "MY");
      my $anon = AnyEvent::Task::Client->new (connect => ['unix/', "$dir/s"]);
      print defined &Callback::Frame::_aef_record ? "light\n" : "frames\n";
      sub show { (my $t = $_[0]) =~ s/^\S+:\d+ - /F - /mg; print $t }
      my $cv = AE::cv;
      $@ = "before";
      frame_try { $c->checkout (timeout => 10)->ok (21, sub { $cv->send ($_[1], defined $@ ? "[$@]" : "undef") }) } frame_catch { $cv->send ("caught $@") };
      print join (" ", $cv->recv), "\n";
      $cv = AE::cv;
      frame_try { $c->checkout (timeout => 10)->error (sub { $cv->send ("ran") }) } frame_catch { $cv->send ($_[0]) };
      show ($cv->recv);
      $cv = AE::cv;
      frame_try { $c->checkout (timeout => 10)->ok (1, sub { frame (name => "inner", code => sub { die "cb died\n" })->(); $cv->send ("after") }) } frame_catch { show ($_[0]) };
      print $cv->recv, "\n";
      $cv = AE::cv;
      frame_try { $anon->checkout (timeout => 10)->ok (1, sub { die "plain\n" }) } frame_catch { $cv->send ($_[0]) };
      show ($cv->recv);
      $cv = AE::cv;
      frame_try { $anon->checkout (timeout => 10)->(1, sub { $cv->send ("ran") }) } frame_catch { $cv->send ($_[0]) };
      show ($cv->recv =~ /^(Can't use an undefined value as a subroutine reference)/ ? "$1\n" : "?\n");
      my $f = frame (name => "mine", code => sub { die "own\n" }, catch => sub { $cv->send ($_[0]) });
      $cv = AE::cv;
      $c->checkout (timeout => 10)->ok (1, $f);
      show ($cv->recv);
   };
   my $want = "42 undef\nbad\n----- Callback::Frame stack-trace -----\nF - MY -> error\nF - ANONYMOUS FRAME\n"
      . "cb died\n----- Callback::Frame stack-trace -----\nF - inner\nF - MY -> ok\nF - ANONYMOUS FRAME\nafter\n"
      . "plain\n----- Callback::Frame stack-trace -----\nF - ANONYMOUS CLIENT -> ok\nF - ANONYMOUS FRAME\n"
      . "Can't use an undefined value as a subroutine reference\n"
      . "own\n----- Callback::Frame stack-trace -----\nF - mine\n";
   perl_ok ($code, "light\n$want", "our Callback::Frame: calls run under light frame records");

   my $dir = File::Temp->newdir;
   mkdir "$dir/Callback";
   my ($path) = grep -f, map "$_/AnyEvent/Task/Companion/CallbackFrame.pm", @INC;
   open my $in, "<", $path or die "$path: $!";
   my $src = do { local $/; <$in> };
   $src =~ s/^sub _aef_\w+ \{.*?^\}\n//msg == 2 or die "no private hooks in $path";
   open my $out, ">", "$dir/Callback/Frame.pm" or die;
   print $out $src;
   close $out;
   perl_ok ($code, "frames\n$want", "another Callback::Frame: calls run under real frames, with the same results", "$dir");
}

# the companion's frame API
perl_ok (q{
   use AnyEvent::Task::Client;
   use Callback::Frame;
   for my $args ([foo => 1, code => sub {}], [code => undef], [name => "x"], [code => sub {}, existing_frame => sub {}]) {
      eval { frame (@$args) }; print $@ =~ /^(.*?) at / ? "$1\n" : "?$@\n";
   }
   my $f = frame (code => sub { 1 });
   eval { frame (code => sub {}, existing_frame => $f, catch => sub {}) }; print $@ =~ /^(.*?) at / ? "$1\n" : "?\n";
   eval { my $x = frame_catch { 1 } }; print $@ =~ /^(.*?) at / ? "$1\n" : "?\n";
   print Callback::Frame::is_frame ($f) ? 1 : 0, Callback::Frame::is_frame (sub {}) ? 1 : 0, "\n";
   my $r = fub { "fub:@_" } name => "named";
   print $r->(1), "\n";
   $@ = "kept"; frame (code => sub { print "at call: $@\n" })->();
}, "Unknown frame option: foo\nvalue missing for key code\nframe needs a 'code' callback\nexisting_frame isn't a frame\n"
 . "can't install new catcher if using existing_frame\nUseless bare frame_catch\n10\nfub:1\nat call: kept\n",
   "Callback::Frame: croak texts, is_frame, fub, \$@ at call time");

# constructor errors
perl_ok (q{
   use AnyEvent::Task::Server;
   use AnyEvent::Task::Client;
   use File::Temp;
   my $d = File::Temp->newdir;
   for my $o ([], [listen => ['unix/', "$d/a"]], [listen => ['unix/', "$d/b"], interface => undef],
              [listen => ['unix/', "$d/c"], interface => []], [listen => ['unix/', "/nonexistent/dir/s"], interface => sub {}]) {
      eval { AnyEvent::Task::Server->new (@$o) }; print $@ =~ /^(.*?)(?: at |\n)/ ? "$1\n" : "?$@\n";
   }
   eval { AnyEvent::Task::Client->new }; print $@ =~ /^(.*?) at / ? "$1\n" : "?\n";
   AnyEvent::Task::Server->new (name => "nm", listen => ['unix/', "$d/n"], interface => sub {});
   print "$0\n";
   print \@AnyEvent::Task::Server::children_sockets == \@AnyEvent::Task::Util::children_sockets ? "alias\n" : "no alias\n";
}, "unspecified listen path\nunspecified interface\ninterface must be a sub or a hash\ninterface must be a sub or a hash\n"
 . "tcp_bind: No such file or directory\nneed connect\nAET-Server:nm\nalias\n", "constructor error texts, \$0, the children_sockets alias");

# the glue's objects: forged or foreign ones croak; the splitter's verdicts
{
   require AnyEvent::Fork::Core;
   my $forged = bless \(my $x = 1), "AnyEvent::Task::Split";
   eval { $forged->next };
   like ($@, qr/^AnyEvent::Task::Split: not an object of this class at /, "a forged splitter croaks");
   my $s = AnyEvent::Task::Split->new (16);
   eval { AnyEvent::Task::Server::Worker::Loop::next ($s) };
   like ($@, qr/^AnyEvent::Task::Server::Worker::Loop: not an object of this class at /, "a foreign object croaks");
   $s->feed (qq{ ["a",{"b":"]"}]\n[1});
   is ($s->next, q{["a",{"b":"]"}]}, "a whole message, a bracket inside a string");
   is ($s->next, undef, "then: more bytes needed");
   $s->feed ("]{");
   is ($s->next, "[1]", "completed across feeds");
   is ($s->next, "", "an object at the top level: the stream is corrupt");
   my $b = AnyEvent::Task::Split->new (16);
   $b->feed ('["' . ("x" x 20));
   is ($b->next, "", "a message over the bound: corrupt");
   eval { AnyEvent::Task::Split->new (2**40) };
   like ($@, qr/^AnyEvent::Task::Split: bound larger than /, "a bound over 64 MiB croaks");
}

done_testing;
