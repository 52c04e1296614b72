# A request whose serialised form does not fit the 32-bit length of a frame
# croaks at the call, queues nothing and leaves the stream intact (the
# original would have written a corrupt length). 2049 references to one
# 2 MiB string make 4 GiB + 2 MiB without the memory for it.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my $s = "x" x (2 << 20);
my $size = 2049 * (length (pack "w", length $s) + length $s);

for my $async (0, 1) {
   my $what = $async ? "async" : "sync";
   my @errors;
   my $rpc = AnyEvent::Fork
      ->new
      ->eval ('sub sync { @_ } sub async { my $d = shift; $d->(@_) }')
      ->AnyEvent::Fork::RPC::run ($what, async => $async, on_error => sub { push @errors, @_ });

   ok !eval { $rpc->(($s) x 2049, sub { }); 1 }, "$what: croaks";
   like $@, qr/^AnyEvent::Fork::RPC: request too large \($size octets, at most 4294967295\) at /,
      "$what: request too large ($size octets, at most 4294967295)";

   my $cv = AE::cv;
   $rpc->("next", $cv);
   is_deeply [$cv->recv], ["next"], "$what: nothing was queued, the next request works";
   is_deeply \@errors, [], "$what: no error";
}

done_testing;
