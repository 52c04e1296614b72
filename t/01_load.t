# Loading the modules: no side effects, versions, and what each one loads.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use AEFHelp;

my $PERL5LIB = join ":", grep !ref, @INC;

# a fresh perl that loads the given modules and reports what happened: its
# children (none may exist), and the modules it loaded
sub fresh {
   my ($use, %env) = @_;
   run_cmd ({ PERL5LIB => $PERL5LIB, %env }, $^X, "-e", $use . q{
      my @kids;
      if (opendir my $dh, "/proc") {
         for my $pid (grep /^\d+\z/, readdir $dh) {
            open my $fh, "<", "/proc/$pid/stat" or next;
            my $s = <$fh> // next;
            push @kids, $pid if $s =~ /\) \S (\d+) / && $1 == $$;
         }
      }
      my $w = waitpid -1, 1;
      print "kids=", scalar @kids, " waitpid=$w\n";
      print "INC=", join (" ", sort keys %INC), "\n";
   });
}

for my $mod ("AnyEvent::Fork", "AnyEvent::Fork::Serve", "AnyEvent::Fork::Serve ();use AnyEvent::Fork") {
   my ($st, $out, $err) = fresh ("use $mod;");
   is ($st, 0, "use $mod: exit status 0");
   is ($err, "", "use $mod: nothing on STDERR");
   like ($out, qr/\Akids=0 waitpid=-1\nINC=[^\n]*\n\z/, "use $mod: no process created, nothing printed");
}

# loading AnyEvent::Fork loads AnyEvent and AnyEvent::Util (programs
# written for the original may use AnyEvent::Util without loading it)
{
   my ($st, $out, $err) = fresh ("use AnyEvent::Fork;");
   my ($inc) = $out =~ /^INC=(.*)$/m;
   my %inc = map { $_ => 1 } split / /, $inc // "";
   ok ($inc{"AnyEvent.pm"}, "use AnyEvent::Fork loads AnyEvent");
   ok ($inc{"AnyEvent/Util.pm"}, "use AnyEvent::Fork loads AnyEvent::Util");
}

# the Serve module loads only what it needs (it is loaded by every exec'd
# child and by every template): at most these files
my @SERVE_MAY_LOAD = qw(AnyEvent/Fork/Core.pm AnyEvent/Fork/Serve.pm XSLoader.pm strict.pm);
{
   my ($st, $out, $err) = run_cmd ({ PERL5LIB => $PERL5LIB }, $^X, "-MAnyEvent::Fork::Serve", "-e", 'print join "\n", sort keys %INC');
   is ($st, 0, "perl -MAnyEvent::Fork::Serve: status 0");
   is ($err, "", "perl -MAnyEvent::Fork::Serve: nothing on STDERR");
   my %may = map { $_ => 1 } @SERVE_MAY_LOAD;
   my @loaded = split /\n/, $out;
   ok ((grep $_ eq "AnyEvent/Fork/Serve.pm", @loaded), "AnyEvent::Fork::Serve is loaded");
   is_deeply ([grep !$may{$_}, @loaded], [], "it loads nothing but @SERVE_MAY_LOAD")
      or diag $out;
   unlike ($out, qr/^(?:AnyEvent\.pm|AnyEvent\/(?!Fork\/(?:Core|Serve)\.pm)|Carp|Errno|DynaLoader|IO\/Handle|Config)/m,
           "in particular no AnyEvent, Carp, Errno, DynaLoader, IO::Handle, Config");
}

# ... and so does an exec'd child while it serves
{
   require AnyEvent::Fork;
   my $out = report (AnyEvent::Fork->new_exec, 'join "\n", sort keys %INC');
   my %may = map { $_ => 1 } @SERVE_MAY_LOAD;
   is_deeply ([grep !$may{$_}, split /\n/, $out], [], "an exec'd child has loaded nothing but @SERVE_MAY_LOAD")
      or diag $out;
}

# versions
{
   require AnyEvent::Fork;
   is ($AnyEvent::Fork::VERSION, "1.32", '$AnyEvent::Fork::VERSION is 1.32');
   ok ($AnyEvent::Fork::VERSION >= 0.6, "... numerically >= 0.6");
   ok (eval "use AnyEvent::Fork 0.6; 1", "use AnyEvent::Fork 0.6 passes") or diag $@;
   ok (eval "use AnyEvent::Fork 1.32; 1", "use AnyEvent::Fork 1.32 passes") or diag $@;
   ok (!eval "use AnyEvent::Fork 1.33; 1", "use AnyEvent::Fork 1.33 fails");
   like ($@, qr/^AnyEvent::Fork version 1.33 required--this is only version 1.32 at /, "... with perl's message");

   require AnyEvent::Fork::Core;
   ok (defined $AnyEvent::Fork::Core::VERSION, "AnyEvent::Fork::Core has a version");

   my %want = (
      "AnyEvent::Fork::RPC"       => "2.0",
      "AnyEvent::Fork::RPC::Sync" => "2",
      "AnyEvent::Fork::RPC::Async"=> "2",
      "AnyEvent::Fork::Pool"      => "1.3",
   );
   for my $mod (sort keys %want) {
      (my $file = "$mod.pm") =~ s{::}{/}g;
      SKIP: {
         skip "$mod does not exist yet", 1 unless grep !ref && -f "$_/$file", @INC;
         my ($st, $out, $err) = run_cmd ({ PERL5LIB => $PERL5LIB }, $^X, "-e", "require $mod; print \$${mod}::VERSION");
         is ($out, $want{$mod}, "\$${mod}::VERSION is '$want{$mod}'") or diag $err;
      }
   }
}

# RPC does not load AnyEvent::Fork (1.2+): users load it themselves
SKIP: {
   skip "lib/AnyEvent/Fork/RPC.pm does not exist yet", 3
      unless grep !ref && -f "$_/AnyEvent/Fork/RPC.pm", @INC;
   my ($st, $out, $err) = fresh ("use AnyEvent::Fork::RPC;");
   is ($st, 0, "use AnyEvent::Fork::RPC: status 0") or diag $err;
   like ($out, qr/\Akids=0 waitpid=-1\n/, "use AnyEvent::Fork::RPC: no process created");
   unlike ($out, qr{ AnyEvent/Fork\.pm\b}, "AnyEvent::Fork::RPC does not load AnyEvent::Fork");
}

# the same checks under the other event model do not apply: loading does not
# pick a model. But loading must not initialise one either.
{
   my ($st, $out, $err) = fresh ('use AnyEvent::Fork; print "model=", (defined $AnyEvent::MODEL ? $AnyEvent::MODEL : "none"), "\n";');
   like ($out, qr/^model=none$/m, "use AnyEvent::Fork does not initialise an event model") or diag $out, $err;
}

done_testing;
