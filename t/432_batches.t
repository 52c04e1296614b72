use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;
use Test::More;
use IPC::Manager qw(ipcm_service ipcm_default_protocol);

# many requests sent at once: a service that received several messages in
# one wait step looks for more before it waits again. Every request is
# answered, in the order sent, and the interval keeps its turn while a
# long burst is being worked off (the service is slowed down so that more
# requests are always queued when it looks).

for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   ipcm_default_protocol ($proto);

   my $h = ipcm_service (batch => (
      interval       => 0.05,
      on_interval    => sub { $_[0]->{ticks}++ },
      handle_request => sub {
         my ($s, $r) = @_;
         select (undef, undef, undef, 0.002) if $r->{request}{slow};
         return { n => ++$s->{seen}, ticks => $s->{ticks} || 0, req => $r->{request}{i} };
      },
   ));

   my @got;
   $h->send_request (batch => { i => $_ }, sub { push @got, $_[0]{response} }) for 1 .. 300;
   $h->await_all_responses (60);
   is scalar (@got), 300, "$proto: every request answered";
   is_deeply [map $_->{req}, @got], [1 .. 300], "$proto: in the order sent";
   is_deeply [map $_->{n}, @got], [1 .. 300], "$proto: handled in that order";

   # 200 requests of 2 ms each: the burst lasts at least 0.4 s, and the
   # interval (50 ms) comes round while it is worked off
   my @slow;
   $h->send_request (batch => { i => $_, slow => 1 }, sub { push @slow, $_[0]{response} }) for 1 .. 200;
   $h->await_all_responses (60);
   is scalar (@slow), 200, "$proto: the slow burst answered";
   my $ticks = $slow[-1]{ticks} - $slow[0]{ticks};
   cmp_ok $ticks, '>=', 2, "$proto: the interval ran during the burst ($ticks times)";
   undef $h;
}

done_testing;
