use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;
use Test::More;
use IPC::Manager qw(ipcm_service ipcm_default_protocol);

# many requests sent at once, which a service takes in batches: every
# request is answered, in the order sent, also when some of a batch die
# (their callers get the error answer, the rest of the batch its answers);
# sync_request's own wait: its timeout, and a handle class of one's own
# that has its own await_response

{
   package My::Handle;
   our @ISA = ('IPC::Manager::Service::Handle');
   our @seen;
   sub await_response { my $s = shift; push @seen, $_[0]; return $s->SUPER::await_response (@_) }
}

for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   ipcm_default_protocol ($proto);

   my $h = ipcm_service (batch => (
      handle_request => sub {
         my ($s, $r) = @_;
         return if $r->{request}{silent};
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

   # no answer comes: the timeout, reported where sync_request was called
   my $line = __LINE__ + 1;
   ok !eval { $h->sync_request (batch => { silent => 1 }, 0.3); 1 }, "$proto: unanswered";
   like $@, qr/^await_response: timed out after 0.3s waiting for response '[-0-9A-F]{36}' at \Q${\ __FILE__}\E line $line\.$/,
      "$proto: the timeout text";

   my $mine = My::Handle->new (service_name => 'batch', ipcm_info => $h->ipcm_info);
   @My::Handle::seen = ();
   is $mine->sync_request (batch => { i => 1 }, 10)->{response}{req}, 1, "$proto: a handle of one's own";
   is scalar (@My::Handle::seen), 1, "$proto: its await_response was called";
   undef $mine;
   undef $h;
}

done_testing;
