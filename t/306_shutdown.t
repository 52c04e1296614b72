# Destroying a pool with thousands of queued jobs completes them all before
# on_destroy; exceptions in callbacks and in the serialiser leave the pool's
# bookkeeping intact and never stall the queue.
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp qw(wait_until run_for alive stats);

use strict;
use warnings;
use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::Pool;

my $template = AnyEvent::Fork->new->eval (q{
   sub echo { @_ }
   sub sleepy { select undef, undef, undef, $_[0]; $$ }
   sub ajob { my $done = shift; $done->(@_) }
});

# exceptions thrown by callbacks: under EV they are reported and ignored,
# under the Perl model they leave the event loop (recv) and are caught here
my @died;
$EV::DIED = $EV::DIED = sub { push @died, $@ };
sub recv_all {
   my ($cv) = @_;
   until (eval { $cv->recv; 1 }) {
      push @died, $@;
   }
}

for my $async (0, 1) {
   my $finish = AE::cv;
   my ($n, $after, %seen, $wrong) = (0, 0);
   my $pool = $template->AnyEvent::Fork::Pool::run ($async ? "ajob" : "echo",
      async => $async, max => 3, start => 0.01,
      on_destroy => sub { $after = $n; $finish->send });

   my $jobs = 3000;
   for my $i (1 .. $jobs) {
      $pool->($i, "x" x ($i % 50), sub {
         $wrong++ if $_[0] != $i || $_[1] ne "x" x ($i % 50) || $seen{$i}++;
         ++$n;
      });
   }
   is stats ($pool), "1,0,2998", "async $async: one worker, load 2, 2998 jobs queued";
   undef $pool;

   $finish->recv;
   is $n, $jobs, "async $async: all $jobs jobs completed after the pool was dropped";
   is $after, $jobs, "async $async: all of them before on_destroy";
   ok !$wrong, "async $async: each once, with its own result";
}

# an exception in a result callback: the next job is already on its way
{
   my $finish = AE::cv;
   my $all = AE::cv;
   my %done;
   my $pool = $template->AnyEvent::Fork::Pool::run ("echo", max => 1, load => 1, on_destroy => $finish);

   for my $i (1 .. 6) {
      $pool->($i, sub {
         $done{$i}++;
         $all->send if keys %done == 6;
         die "callback $i died\n" if $i % 2;
      });
   }
   recv_all $all;
   is_deeply \%done, { map { $_ => 1 } 1 .. 6 }, "every callback ran once although three died";
   is_deeply [sort @died], ["callback 1 died\n", "callback 3 died\n", "callback 5 died\n"], "the three exceptions reached the event loop";
   is stats ($pool), "1,1,0", "one idle worker: the bookkeeping is intact";
   @died = ();

   undef $pool;
   recv_all $finish;
   pass "on_destroy";
}

# callbacks that are not plain code references are called as &$cb is, under
# strict: an object with &{} overloading, and a name, which dies
{
   package AEFPoolCallable;
   use overload '&{}' => sub { my $self = shift; sub { push @$self, [@_] } }, fallback => 1;
}
{
   my $all = AE::cv;
   my $calls = bless [], "AEFPoolCallable";
   for my $async (0, 1) {
      my $pool = $template->AnyEvent::Fork::Pool::run ($async ? "ajob" : "echo", async => $async, max => 1, load => 1);
      $pool->(1, $calls);
      $pool->(2, "main::no_such_callback");
      $pool->(3, $calls);
      $pool->(4, sub { $all->send });
      recv_all $all;
      $all = AE::cv;
   }
   is_deeply [@$calls], [[1], [3], [1], [3]], "an object with &{} overloading is called like code";
   is scalar @died, 2, "a callback given by name dies (strict refs), sync and async";
   like $died[$_], qr/strict refs/, "... with perl's message ($_)" for 0, 1;
   @died = ();
}

# the serialiser rejects a job: the call dies, nothing else changes
{
   my $finish = AE::cv;
   my %done;
   my $pool = $template->AnyEvent::Fork::Pool::run ("echo",
      serialiser => $AnyEvent::Fork::RPC::STORABLE_SERIALISER, max => 1, load => 1, on_destroy => $finish);

   $pool->(1, sub { $done{1} = $_[0] });
   $pool->(sub { }, sub { $done{bad} = 1 });
   $pool->(3, sub { $done{3} = $_[0] });
   is stats ($pool), "1,0,2", "jobs 2 and 3 wait";

   my $cv = AE::cv;
   my $err;
   my $t = AE::timer 0, 0.005, sub { $cv->send if $done{1} };
   recv_all $cv; # job 1's completion hands out job 2, whose freeze dies
   $cv = AE::cv;
   $t = AE::timer 0, 0.005, sub { $cv->send if $done{3} };
   recv_all $cv;
   is_deeply \%done, { 1 => 1, 3 => 3 }, "the rejected job is dropped, the next one runs";
   is scalar @died, 1, "the serialiser's exception reached the event loop";
   like $died[0], qr/Can't store CODE/, "... Storable's";
   @died = ();
   is stats ($pool), "1,1,0", "the bookkeeping is intact";

   $err = eval { $pool->(sub { }, sub { }); 1 } ? "" : $@;
   like $err, qr/Can't store CODE/, "an idle pool dies in the call itself";
   is stats ($pool), "1,1,0", "nothing changed";
   $pool->(4, sub { $done{4} = $_[0] });

   undef $pool;
   recv_all $finish;
   is $done{4}, 4, "job 4 completes";
}

# the pool lets go of everything: the template process exits when nobody
# else holds it, and no descriptor stays open in the parent

sub fds { opendir my $dh, "/proc/self/fd" or return -1; scalar grep /^\d+$/, readdir $dh }

SKIP: {
   skip "needs /proc", 2 unless -d "/proc/self/fd";

   my $fds = fds;
   my @templates;
   for my $async (0, 1, 0, 1) {
      my $finish = AE::cv;
      my $pool = AnyEvent::Fork->new->eval (q{ sub ppid { getppid } sub appid { $_[0]->(getppid) } })
         ->AnyEvent::Fork::Pool::run ($async ? "appid" : "ppid", async => $async, idle => 2, on_destroy => $finish);
      my $cv = AE::cv;
      $pool->($cv);
      push @templates, $cv->recv;
      undef $pool;
      $finish->recv;
   }
   my $cv = AE::cv;
   my $t = AE::timer 0, 0.005, sub { $cv->send unless grep alive $_, @templates };
   $cv->recv;
   pass "every template process exits after its pool's on_destroy";
   is fds, $fds, "no descriptor left open in the parent";
}

is_deeply \@died, [], "no other exceptions";

done_testing;
