use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use IPC::Manager qw(ipcm_spawn);

# ConnectionUnix: what a service sends while it dispatches a batch is held
# back and leaves in one write per connection afterwards (_flush_held):
# whole when the socket takes it, the rest queued when it does not, and a
# connection whose reader is gone is reported and dropped

my $spawn = ipcm_spawn (protocol => 'ConnectionUnix');
my $a = $spawn->connect ('a');
my $b = $spawn->connect ('b');
$a->set_send_blocking (0);

sub take_all {
   my ($c, $want) = @_;
   my @got;
   for (1 .. 1000) {
      push @got, $c->get_messages;
      last if @got >= $want;
      $a->drain_pending;
      select (undef, undef, undef, 0.01);
   }
   return @got;
}

{
   local $a->{_hold} = 1;
   $a->send_message (b => { n => $_ }) for 1 .. 3;
   ok $a->have_pending_sends, "held back while dispatching";
}
$a->_flush_held;
ok !$a->have_pending_sends, "then written at once";
is_deeply [map $_->content->{n}, take_all ($b, 3)], [1, 2, 3], "all three arrive, in order";

# more than the socket takes: the rest stays queued, and leaves as the
# reader reads
{
   local $a->{_hold} = 1;
   $a->send_message (b => { n => $_, pad => "x" x 100_000 }) for 1 .. 40;
}
$a->_flush_held;
ok $a->have_pending_sends, "a part left queued";
my @big = take_all ($b, 40);
is_deeply [map $_->content->{n}, @big], [1 .. 40], "all forty arrive, in order";
ok !$a->have_pending_sends, "nothing left queued";

# the reader gone: reported, the connection dropped
$b->disconnect;
my @warn;
{
   local $SIG{__WARN__} = sub { push @warn, $_[0] };
   local $a->{_hold} = 1;
   $a->send_message (b => { n => "late" });
}
{
   local $SIG{__WARN__} = sub { push @warn, $_[0] };
   $a->_flush_held;
}
is scalar (@warn), 1, "one warning" or diag explain \@warn;
like $warn[0], qr/^ConnectionUnix: send to 'b' failed: write failed: /, "the send failure";
ok !$a->{_by_peer}{b}, "the connection dropped";
ok !$a->have_pending_sends, "nothing left queued";

done_testing;
