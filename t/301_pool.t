# The scenario of the original distribution's own pool test: default
# pool, workers retiring at random, every callback exactly once, and every
# worker's output before what the parent prints after on_destroy. The
# workers print their own TAP lines, so the stream has exactly 63 results
# in order only when all of that holds.
use lib "t/lib";
use AEFTest timeout => 60;

BEGIN { $| = 1; print "1..63\n"; }

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::Pool;

print "ok 1 - loaded\n";

my $finish = AE::cv;

my $pool = AnyEvent::Fork
   ->new
   ->eval (do { local $/; <DATA> })
   ->AnyEvent::Fork::Pool::run ("run", on_destroy => $finish);

print "ok 2 - pool created\n";

my %called;

for my $i (1 .. 30) {
   $pool->($i, sub {
      ++$called{$i};
      print $_[0] eq "r$i" ? "ok - callback $i\n" : "not ok - callback $i got '$_[0]'\n";
   });
}

undef $pool;

$finish->recv;

my @wrong = grep $called{$_} != 1, 1 .. 30;
print @wrong ? "not ok 63 - callbacks not called once: @wrong\n" : "ok 63 - every callback exactly once\n";

__DATA__
sub run {
   my ($i) = @_;

   print "ok - job $i in worker $$\n";

   select undef, undef, undef, rand 0.2;

   AnyEvent::Fork::Pool::retire ()
      if rand () < 0.5;

   "r$i"
}
