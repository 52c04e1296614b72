# Regressions: a pool whose workers cannot start (the serialiser string
# does not compile, or names JSON where JSON cannot be loaded) reports the
# error once and lets the program end; it used to retry the start forever
# at pool destruction, burning a CPU, so the program never exited.
# Each case runs as a program of its own, under both AnyEvent models, and
# is killed (and fails) if it does not end in time.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;
use Test::More;
use AEFHelp;

$AEFHelp::TIMEOUT = 30 * ($ENV{AEF_TEST_TIMEOUT_SCALE} || 1);

my @models = ("Perl", eval { require EV; 1 } ? "EV" : ());

# hides JSON (and JSON::XS) from the program, as on a machine without them
my $NOJSON = q{BEGIN { unshift @INC, sub { die "no JSON here\n" if $_[1] =~ m{^JSON\b}; return } }};

my %SERIALISER = (
   broken => [q{'this is not perl ('}, qr/syntax error at /],
   nojson => [q{$AnyEvent::Fork::RPC::JSON_SERIALISER}, qr/no JSON here$/m],
);

# $caught: the program catches the error of the first call, drops the pool,
# runs the event loop a little and ends normally
sub program {
   my ($serialiser, $caught) = @_;

   $NOJSON . q{
      use AnyEvent; use AnyEvent::Fork; use AnyEvent::Fork::Pool;
      my $pool = AnyEvent::Fork->new->eval ('sub f { @_ }')
         ->AnyEvent::Fork::Pool::run ("f", serialiser => } . $serialiser . q{);
      my $cv = AE::cv;
   } . ($caught ? q{
      eval { $pool->(1, sub { print "result\n" }); 1 } or print "caught: $@";
      undef $pool;
      my $t = AE::timer 0.05, 0, sub { $cv->send };
      $cv->recv;
      print "ended\n";
   } : q{
      $pool->(1, sub { print "result\n"; $cv->send });
      $cv->recv;
      print "not reached\n";
   });
}

sub count { my ($re, $s) = @_; my $n = () = $s =~ /$re/g; $n }

for my $model (@models) {
   for my $kind (sort keys %SERIALISER) {
      my ($serialiser, $err) = @{ $SERIALISER{$kind} };

      {
         my ($status, $out, $errout) = run_cmd ({ PERL_ANYEVENT_MODEL => $model }, perl_cmd ("-e", program ($serialiser, 0)));
         ok (!($status & 127), "$model, $kind serialiser, uncaught: the program ends (not killed)")
            or diag "status $status";
         isnt ($status >> 8, 0, "$model, $kind serialiser, uncaught: dies, non-zero exit status");
         is (count ($err, $errout), 1, "$model, $kind serialiser, uncaught: the error is reported once")
            or diag $errout;
         is ($out, "", "$model, $kind serialiser, uncaught: no result, nothing after the call");
      }

      {
         my ($status, $out, $errout) = run_cmd ({ PERL_ANYEVENT_MODEL => $model }, perl_cmd ("-e", program ($serialiser, 1)));
         is ($status, 0, "$model, $kind serialiser, caught: the program ends normally")
            or diag "status $status, stderr: $errout";
         like ($out, qr/^caught: /, "$model, $kind serialiser, caught: the first call dies");
         is (count ($err, $out), 1, "$model, $kind serialiser, caught: with the serialiser's error");
         like ($out, qr/^ended$/m, "$model, $kind serialiser, caught: the event loop runs on after the pool is dropped");
      }
   }
}

done_testing;
