# The C core's objects (the RPC state and the Pool heap) are recognised by
# the magic they carry, not by their class: forged or foreign values croak
# with a clear text, and a destroyed RPC state is reported as such. Also the
# croaks of the Async backend's entry point (a worker's, tried here without
# running its loop).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent::Fork::RPC;
use AnyEvent::Fork::Pool;

my $R = "AnyEvent::Fork::RPC::Core";
my $P = "AnyEvent::Fork::Pool::Core";

my $rpc = $R->new (0, 496, $AnyEvent::Fork::RPC::STRING_SERIALISER, undef, undef, sub { }, sub { }, undef);
isa_ok $rpc, $R;
is ref $rpc->rpc, "CODE", "a real state makes an RPC object";

my $heap = $P->new;

my @forged = (
   ["a blessed number"  => bless \(my $x = 1234), $R],
   ["a blessed hash"    => bless {}, $R],
   ["the class name"    => $R],
   ["undef"             => undef],
   ["a plain reference" => \1],
   ["a pool heap"       => $heap],
);

for (@forged) {
   my ($what, $obj) = @$_;

   is eval { AnyEvent::Fork::RPC::Core::rpc ($obj); 1 }, undef, "rpc on $what";
   like $@, qr/^AnyEvent::Fork::RPC::Core: not an RPC state object at /, "... croaks";
   is eval { AnyEvent::Fork::RPC::Core::connect ($obj, \*STDIN); 1 }, undef, "connect on $what";
   like $@, qr/^AnyEvent::Fork::RPC::Core: not an RPC state object at /, "... croaks";
   is eval { AnyEvent::Fork::RPC::Core::DESTROY ($obj); 1 }, 1, "DESTROY ignores $what";
}

is eval { $P->can ("size")->($rpc); 1 }, undef, "a pool method on an RPC state";
like $@, qr/^AnyEvent::Fork::Pool::Core: not a pool heap object at /, "... croaks";
is eval { $P->can ("size")->(bless \(my $y = 1234), $P); 1 }, undef, "a pool method on a blessed number";
like $@, qr/^AnyEvent::Fork::Pool::Core: not a pool heap object at /, "... croaks";

# a state destroyed by hand stays an object that says so
$rpc->DESTROY;
is eval { $rpc->rpc; 1 }, undef, "rpc after DESTROY";
like $@, qr/^AnyEvent::Fork::RPC::Core: object already destroyed at /, "... croaks";
$rpc->DESTROY;
pass "a second DESTROY is harmless";
undef $rpc;
pass "freeing a destroyed state is harmless";

# async_start: its handles are checked first; a worker runs one backend
{
   use Socket ();
   socketpair my $s1, my $s2, Socket::AF_UNIX (), Socket::SOCK_STREAM (), 0 or die "socketpair: $!";
   my @rest = (496, "main::f", $AnyEvent::Fork::RPC::STRING_SERIALISER, undef, undef, sub { }, sub { });

   is eval { AnyEvent::Fork::RPC::Core::async_start ("x", $s2, @rest); 1 }, undef, "async_start on a bad handle";
   like $@, qr/^rfh: not a file handle or descriptor at /, "... croaks";
   is eval { AnyEvent::Fork::RPC::Core::async_start ($s1, $s1, @rest); 1 }, 1, "async_start";
   is eval { AnyEvent::Fork::RPC::Core::async_start ($s2, $s2, @rest); 1 }, undef, "async_start again";
   like $@, qr/^AnyEvent::Fork::RPC::Async: already running at /, "... croaks";
}

done_testing;
