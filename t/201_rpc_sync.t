# The synchronous backend as the original's own test uses it: a function
# (sent with eval) emits one event and returns one value per call; four
# calls give event, result, event, result, ... strictly in call order; after
# the RPC object is dropped on_destroy fires once.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my (@log, $destroyed, $errors);
my $done = AE::cv;

my $rpc = AnyEvent::Fork
   ->new
   ->eval (do { local $/; <DATA> })
   ->AnyEvent::Fork::RPC::run ("run",
        on_error   => sub { ++$errors; diag "on_error: @_"; $done->send },
        on_event   => sub { push @log, "event @_" },
        on_destroy => sub { ++$destroyed; $done->send },
     );

is ref $rpc, "CODE", "the RPC object is a code reference";

for my $i (1 .. 4) {
   $rpc->($i, "x$i", sub { push @log, "result @_" });
}

undef $rpc;
$done->recv;

is_deeply \@log, [
   map +("event $_ x$_", "result $_ x$_ " . ($_ * 2)), 1 .. 4
], "events and results interleaved in call order";

is $destroyed, 1, "on_destroy once";
ok !$errors, "no error";

# the function is called in list context with the arguments; an empty
# list and an empty string come back as such
$done = AE::cv;
my @got;
$rpc = AnyEvent::Fork
   ->new
   ->eval ('sub ctx { wantarray ? (@_) : "scalar" }')
   ->AnyEvent::Fork::RPC::run ("ctx", on_destroy => $done);

$rpc->(sub { push @got, [@_] });
$rpc->("", sub { push @got, [@_] });
$rpc->("a", "b", "c", sub { push @got, [@_] });
undef $rpc;
$done->recv;

is_deeply \@got, [[], [""], ["a", "b", "c"]], "list context, arguments and results intact";

done_testing;

__DATA__
sub run {
   my ($n, $s) = @_;

   AnyEvent::Fork::RPC::event ($n, $s);

   ($n, $s, $n * 2)
}
