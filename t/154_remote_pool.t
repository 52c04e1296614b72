# AnyEvent::Fork::Pool over AnyEvent::Fork::Remote: all jobs return over a
# local perl and ssh's pipe semantics, sync and async; retire() replaces
# the worker; the original Pool's retire code (an event call without
# parentheses after the backend's require) sends the whole event; workers
# that cannot connect lose no job: it is run elsewhere, or reported.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;

use Test::More;
use File::Temp ();

use AnyEvent;
use AnyEvent::Fork::Remote;
use AnyEvent::Fork::Pool;
use AEFRemote;
use AEFHelp;

remote_env ();

my $worker = q{
   sub w {
      my $done = $main::async ? shift : undef;
      my @r = ($$, $_[0] * 2);
      AnyEvent::Fork::Pool::retire () if $_[0] == 5;
      $done ? $done->(@r) : @r
   }
};

# runs $n jobs on a pool; returns (results by job, pids seen, events, errors)
sub jobs {
   my ($template, $async, $n, %opt) = @_;
   my (%res, %pid, @events, @errors);
   my $cv = AE::cv;
   my $pool = $template
      ->eval ("\$main::async = $async; $worker")
      ->AnyEvent::Fork::Pool::run ("w",
           async    => $async,
           max      => 3,
           idle     => 0,
           load     => 2,
           on_event => sub { push @events, "@_" },
           on_error => sub { push @errors, "@_"; $cv->end if $_[0] =~ /job lost/ },
           %opt,
        );
   for my $i (1 .. $n) {
      $cv->begin;
      $pool->($i, sub { $res{$i} = $_[1]; ++$pid{$_[0]}; $cv->end });
   }
   my $t = AE::timer 60, 0, sub { push @errors, "timeout"; $cv->send };
   $cv->recv;
   (\%res, \%pid, \@events, \@errors)
}

my %want = map +($_ => 2 * $_), 1 .. 12;

for my $t (transports ()) {
   my ($name, $new) = @$t;
   for my $async (0, 1) {
      my ($res, $pid, $events, $errors) = jobs ($new->(), $async, 12);
      is_deeply $res, \%want, "$name, async=$async: 12 jobs with max 3 all return";
      cmp_ok scalar keys %$pid, ">", 1, "$name, async=$async: more than one worker (one retired)";
      is_deeply $events, [], "$name, async=$async: retire sends the user no event";
      is_deeply $errors, [], "$name, async=$async: no error";
   }
}

# the original Pool's retire code: compiled after the backend is loaded, so
# the event function is known and takes all three arguments
{
   my @events;
   my $cv = AE::cv;
   my $rpc = AnyEvent::Fork::Remote->new_exec ($^X, "perl")
      ->require ("AnyEvent::Fork::RPC::Sync")
      ->eval ('my ($m0, $m1) = @_; sub quit { AnyEvent::Fork::RPC::event $m0, "quit", $m1; 1 }', "M0", "M1")
      ->AnyEvent::Fork::RPC::run ("quit", on_event => sub { push @events, [@_] }, on_destroy => sub { $cv->send });
   $rpc->(sub { undef $rpc });
   $cv->recv;
   is_deeply \@events, [["M0", "quit", "M1"]], "an event call without parentheses after the require sends every argument";
}

# a transport that fails every second start: every job still returns
my $dir = File::Temp::tempdir (CLEANUP => 1);
my $flaky = sub {
   AnyEvent::Fork::Remote->new_exec ("/bin/sh", "sh", "-c",
      'n=$(cat "$1" 2>/dev/null || echo 0); echo $((n + 1)) >"$1"; [ $((n % 2)) = 0 ] && exit 1; exec "$0"',
      $^X, "$dir/count")
};
for my $async (0, 1) {
   unlink "$dir/count";
   my ($res, $pid, $events, $errors) = jobs ($flaky->(), $async, 12);
   is_deeply $res, \%want, "flaky transport, async=$async: every job returns";
   ok !grep (!/^connection failed$/, @$errors), "flaky transport, async=$async: only connection failures reported";
   ok scalar @$errors, "flaky transport, async=$async: and there were some";
}

# a transport that never connects: every job is reported as lost
for my $async (0, 1) {
   my ($res, $pid, $events, $errors) = jobs (AnyEvent::Fork::Remote->new_exec ("/nonexistent/ssh", "ssh"), $async, 12);
   is_deeply $res, {}, "no connection, async=$async: no job ran";
   is scalar (grep /^connection failed, job lost$/, @$errors), 12, "no connection, async=$async: each of the 12 jobs reported as lost";
   ok !grep (!/^connection failed(, job lost)?$/, @$errors), "no connection, async=$async: and nothing else";
}

done_testing;
