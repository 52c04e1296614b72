# AnyEvent::Fork::Remote's surface: constructors, methods and what they
# return, the object, pid, send_fh, new_from_fh's one run per handle, the
# create callback of new (called once per run; a false handle croaks), the
# later failure of a create callback, fork as a clone of the text.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;

use Test::More;
use Socket ();
use POSIX ();

use AnyEvent;
use AnyEvent::Fork::Remote 1.0;
use AEFRemote;
use AEFHelp;

remote_env ();

can_ok "AnyEvent::Fork::Remote", qw(new new_exec new_execp new_from_fh fork pid send_fh eval require send_arg run);

my $p = AnyEvent::Fork::Remote->new_exec ($^X, "perl");
is ref $p, "AnyEvent::Fork::Remote", "new_exec: an object";
ok UNIVERSAL::isa ($p, "ARRAY"), "a blessed array reference";
is $p->eval ("1"), $p, "eval returns the object";
is $p->require ("strict"), $p, "require returns the object";
is $p->send_arg ("a"), $p, "send_arg returns the object";
isa_ok $p->fork, "AnyEvent::Fork::Remote", "fork";
isnt $p->fork, $p, "fork: a new object";
is ref (new AnyEvent::Fork::Remote sub { }), "AnyEvent::Fork::Remote", "indirect new";
is ref (AnyEvent::Fork::Remote->new_execp ("perl", "perl")), "AnyEvent::Fork::Remote", "new_execp";
is $p->pid, undef, "pid is undef";
is scalar (() = $p->pid), 1, "pid: one undef in list context";

eval { $p->send_fh (\*STDIN) };
like $@, qr/^send_fh is not supported on AnyEvent::Fork::Remote objects at /, "send_fh croaks";
eval { $p->send_fh };
like $@, qr/^send_fh is not supported on AnyEvent::Fork::Remote objects at /, "send_fh without arguments croaks";

# a perl of ours on a socket pair: the one handle new_from_fh wants
sub perl_on_socket {
   socketpair my $a, my $b, Socket::AF_UNIX (), Socket::SOCK_STREAM (), 0 or die "socketpair: $!";
   my $pid = fork;
   defined $pid or die "fork: $!";
   unless ($pid) {
      open STDIN, "<&", $b or die; open STDOUT, ">&", $b or die;
      exec { $^X } "perl" or POSIX::_exit (127);
   }
   close $b;
   $a
}

{
   my $code = 'sub f { my ($fh, @a) = @_; syswrite STDOUT, "f @a\n" }';
   my $one = AnyEvent::Fork::Remote->new_from_fh (perl_on_socket ())->eval ($code);
   my $clone = $one->fork;
   my ($fh, $async) = run_remote ($one, "f");
   ok ref $fh, "new_from_fh: runs once";
   ok $async, "its callback is called from the event loop";
   is drain ($fh), "f \n", "and the program ran";
   eval { $one->run ("f", sub { fail "no callback" }) };
   like $@, qr/^AnyEvent::Fork::Remote::new_from_fh does not support fork at /, "second run croaks";
   eval { $clone->run ("f", sub { fail "no callback" }) };
   like $@, qr/^AnyEvent::Fork::Remote::new_from_fh does not support fork at /, "so does a clone's (the handles are shared)";

   my $two = AnyEvent::Fork::Remote->new_from_fh (perl_on_socket (), perl_on_socket ())->eval ($code);
   ($fh) = run_remote ($two->send_arg (1), "f");
   is drain ($fh), "f 1\n", "two handles: first run";
   ($fh) = run_remote ($two->send_arg (2), "f");
   is drain ($fh), "f 1 2\n", "second run, with what was added in between";
   eval { $two->run ("f", sub { }) };
   like $@, qr/does not support fork/, "third run croaks";
}

{
   my $calls = 0;
   my $new = AnyEvent::Fork::Remote->new (sub { ++$calls; $_[0]->(perl_on_socket ()); "created" })
      ->eval ('sub f { syswrite STDOUT, "ok" }');
   my $cv = AE::cv;
   my @ret = $new->run ("f", sub { $cv->send ($_[0]) });
   is_deeply \@ret, ["created"], "run returns what the create callback returned";
   is drain ($cv->recv), "ok", "new: the handle given to done is used";
   run_remote ($new, "f");
   is $calls, 2, "the create callback is called once per run";

   my $bad = AnyEvent::Fork::Remote->new (sub { $_[0]->(undef) });
   my $called = 0;
   eval { $bad->run ("f", sub { ++$called }) };
   like $@, qr/^AnyEvent::Fork::Remote: create callback failed at /, "done->(undef) within create: run croaks";
   is $called, 0, "and does not call back";

   # the same, later from an event: the callback gets undef, with a warning
   my @warn;
   local $SIG{__WARN__} = sub { push @warn, $_[0] };
   my $later = AnyEvent::Fork::Remote->new (sub { my $done = shift; my $t; $t = AE::timer 0, 0, sub { undef $t; $done->(0) } });
   my ($fh, $async) = run_remote ($later, "f");
   ok !defined $fh && $async, "done->(false) from a later event: undef, asynchronously";
   like "@warn", qr/^AnyEvent::Fork::Remote: create callback failed at /, "with the same text as a warning";
}

{
   # fork clones the text: later changes stay with their object
   my $base = AnyEvent::Fork::Remote->new_exec ($^X, "perl")
      ->eval ('sub f { shift; syswrite STDOUT, join ",", @_, $main::x || "-" }')
      ->send_arg ("base");
   my $clone = $base->fork->send_arg ("clone")->eval ('$main::x = "cx"');
   $base->send_arg ("base2");
   my ($fh) = run_remote ($base, "f");
   is drain ($fh), "base,base2,-", "original: its own args and code";
   ($fh) = run_remote ($clone, "f");
   is drain ($fh), "base,clone,cx", "clone: its own args and code";
}

done_testing;
