# The C core's objects (the RPC state and the Pool heap) are recognised by
# the magic they carry, not by their class: forged or foreign values croak
# with a clear text, and a destroyed RPC state is reported as such.
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

done_testing;
