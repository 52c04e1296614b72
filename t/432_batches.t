use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;
use Test::More;
use IPC::Manager qw(ipcm_service ipcm_default_protocol);

# many requests sent at once, which a service takes in batches: every
# request is answered, in the order sent, also when some of a batch die
# (their callers get the error answer, the rest of the batch its answers)

for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   ipcm_default_protocol ($proto);

   my $h = ipcm_service (batch => (
      handle_request => sub {
         my ($s, $r) = @_;
         my $i = $r->{request}{i};
         die "seven\n" if $i % 7 == 0;
         return { n => ++$s->{seen}, req => $i };
      },
   ));

   my @got;
   $h->send_request (batch => { i => $_ }, sub { push @got, $_[0] }) for 1 .. 300;
   $h->await_all_responses (60);
   is scalar (@got), 300, "$proto: every request answered";
   my @ok  = grep !defined $_->{ipcm_error}, @got;
   my @err = grep defined $_->{ipcm_error}, @got;
   is_deeply [map $_->{response}{req}, @ok], [grep $_ % 7, 1 .. 300], "$proto: in the order sent";
   is_deeply [map $_->{response}{n}, @ok], [1 .. scalar @ok], "$proto: handled in that order";
   is scalar (@err), int (300 / 7), "$proto: the ones that died";
   is_deeply [sort keys %{ { map { $_->{ipcm_error} => 1 } @err } }], ['Internal service error'],
      "$proto: answered with the error text";
   ok !(grep defined $_->{response}, @err), "$proto: and no response";

   # the same ids awaited one by one
   my @ids = map $h->send_request (batch => { i => $_ }), 1 .. 50;
   my @one = map $h->await_response ($_, 60), @ids;
   is_deeply [map $_->{response}{req}, grep !defined $_->{ipcm_error}, @one], [grep $_ % 7, 1 .. 50],
      "$proto: awaited one by one";
   undef $h;
}

done_testing;
