# AnyEvent::Fork::Early/Template: unable to fork template process: $!
# (the text Early and Template die with), produced by making fork fail:
# RLIMIT_NPROC 0 (as root
# that limit does not apply, so the program first becomes nobody).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use Test::More;
use AEFHelp;

my $prlimit = (grep -x, map "$_/prlimit", split /:/, $ENV{PATH})[0]
   or plan skip_all => "needs the prlimit command";

for my $mod ("AnyEvent::Fork::Early", "AnyEvent::Fork::Template") {
   my $code = q{
      use strict;
      use POSIX ();
      require AnyEvent::Fork;
      my ($mod, $prlimit) = @ARGV;
      (my $file = "$mod.pm") =~ s{::}{/}g;
      my ($path) = grep -f, map "$_/$file", @INC;
      system ($prlimit, "--pid", $$, "--nproc=0:0") == 0 or die "prlimit failed\n";
      if ($< == 0) {
         POSIX::setgid (65534) or die "setgid: $!\n";
         POSIX::setuid (65534) or die "setuid: $!\n";
      }
      open my $fh, "<", $path or do { print "skip: $path is not readable as nobody\n"; exit 0 };
      my $ok = eval "require $mod; 1";
      print $ok ? "no error\n" : "error=$@";
      print "template=", (defined $AnyEvent::Fork::Template ? "set" : "undef"), "\n";
      print "early=", (defined $AnyEvent::Fork::EARLY ? "set" : "undef"), "\n";
   };
   my ($st, $out, $err) = run_cmd ({}, perl_cmd ("-e", $code, $mod, $prlimit));
   SKIP: {
      skip $1, 3 if $out =~ /^skip: (.*)$/m;
      is ($st, 0, "$mod under RLIMIT_NPROC 0: the program ran") or diag $err;
      like ($out, qr/^error=AnyEvent::Fork::Early\/Template: unable to fork template process: Resource temporarily unavailable at \S+ line \d+\.$/m,
            "use $mod dies: AnyEvent::Fork::Early/Template: unable to fork template process: \$!") or diag $out;
      like ($out, qr/^template=undef\nearly=undef$/m, "... and sets no variable");
   }
}

done_testing;
