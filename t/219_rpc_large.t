# Large single-string requests (4 MiB and more) are read by the worker
# straight into the string's buffer, and a buffer whose string died
# unshared is reused for the next large request. Whatever the function does
# with its argument (returns it, keeps it, keeps a copy, changes it later),
# every request and every result arrives intact, for both backends; a
# request of two strings and one with the JSON serialiser take the
# ordinary path and arrive intact too.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my $MIB = 1 << 20;

# position-dependent contents, distinct per request ($tag)
sub blob {
   my ($len, $tag) = @_;
   my $unit = join "", map { sprintf "%s%06x|", $tag, $_ } 0 .. 8191;
   substr $unit x (int ($len / length $unit) + 1), 0, $len
}

my $CODE = q{
   our @kept;
   sub digest { my $s = shift; length ($s) . ":" . unpack ("%32C*", $s) . ":" . substr ($s, 0, 16) . substr ($s, -16) }
   # what the function does with its argument, by request
   sub work {
      my ($how, @args) = @_;
      if ($how eq "echo")   { return @args }
      if ($how eq "keep")   { push @kept, \$_[1]; return digest ($_[1]) }   # the argument itself
      if ($how eq "copy")   { push @kept, $args[0]; return digest ($args[0]) } # a copy (shares the buffer)
      if ($how eq "change") { substr ($_[1], 0, 1, "#"); return $_[1] }
      if ($how eq "kept")   { return join ",", map { digest (ref $_ ? $$_ : $_) } @kept }
      if ($how eq "two")    { return map digest ($_), @args }
      die "unknown: $how";
   }
   sub run  { work (@_) }
   sub arun { my $done = shift; $done->(work (@_)) }
};

sub digest {
   my $s = shift;
   length ($s) . ":" . unpack ("%32C*", $s) . ":" . substr ($s, 0, 16) . substr ($s, -16)
}

for my $async (0, 1) {
   my $what = $async ? "async" : "sync";
   my $rpc = AnyEvent::Fork->new->eval ($CODE)
      ->AnyEvent::Fork::RPC::run ($async ? "arun" : "run", async => $async,
           on_error => sub { fail "$what: on_error: @_" });
   my $call = sub { my $cv = AE::cv; $rpc->(@_, $cv); [$cv->recv] };

   # these requests are lists of two or more strings: the ordinary path
   my @blobs = map blob ($_->[0], $_->[1]), [4 * $MIB, "a"], [5 * $MIB + 3, "b"], [4 * $MIB - 1, "c"], [9 * $MIB, "d"];
   for my $i (0 .. $#blobs) {
      my $res = $call->("echo", $blobs[$i]);
      ok @$res == 1 && $res->[0] eq $blobs[$i], "$what: echo $i (" . length ($blobs[$i]) . " octets) intact";
   }

   my $k1 = blob (6 * $MIB, "k");
   is_deeply $call->("keep", $k1), [digest ($k1)], "$what: argument kept by reference";
   my $c1 = blob (6 * $MIB, "m");
   is_deeply $call->("copy", $c1), [digest ($c1)], "$what: copy of the argument kept";
   # large requests after them must not reuse the kept buffers
   for my $i (0 .. 2) {
      my $b = blob (6 * $MIB, "n$i");
      my $res = $call->("echo", $b);
      ok $res->[0] eq $b, "$what: echo after keeping, $i";
   }
   is_deeply $call->("kept"), [join ",", digest ($k1), digest ($c1)], "$what: kept strings unchanged";

   my $ch = blob (5 * $MIB, "x");
   (my $want = $ch) =~ s/^./#/s;
   is_deeply $call->("change", $ch), [$want], "$what: argument changed in place";
   is_deeply $call->("two", $blobs[0], $blobs[1]), [digest ($blobs[0]), digest ($blobs[1])], "$what: two large strings";
}

# the single-string fast path proper: the function gets the string alone
for my $async (0, 1) {
   my $what = $async ? "async" : "sync";
   my $rpc = AnyEvent::Fork->new
      ->eval (q{
         our (@keep, $copy);
         sub check { join ",", map { length ($_) . ":" . unpack ("%32C*", $_) } ${ $keep[0] }, $copy }
         sub work  {
            return check () if $_[0] eq "check";
            push @keep, \$_[0] if length $_[0] == 7 << 20; # kept by reference
            $copy = $_[0] if length $_[0] == 8 << 20;       # a copy shares the buffer
            @_
         }
         sub run { work (@_) } sub arun { my $d = shift; $d->(work (@_)) }
      })
      ->AnyEvent::Fork::RPC::run ($async ? "arun" : "run", async => $async,
           on_error => sub { fail "$what: on_error: @_" });
   my @sizes = (4 * $MIB, 8 * $MIB, 7 * $MIB, 4 * $MIB, 16 * $MIB + 5, 4 * $MIB);
   for my $i (0 .. $#sizes) {
      my $b = blob ($sizes[$i], "s$i");
      my $cv = AE::cv;
      $rpc->($b, $cv);
      my @r = $cv->recv;
      ok @r == 1 && $r[0] eq $b, "$what: single string $i ($sizes[$i] octets) intact";
   }
   my $cv = AE::cv;
   $rpc->("check", $cv);
   is $cv->recv, join (",", map { my $b = blob ($sizes[$_], "s$_"); length ($b) . ":" . unpack ("%32C*", $b) } 2, 1),
      "$what: strings kept by the function were not reused";
}

if (eval { require JSON; 1 }) {
   my $rpc = AnyEvent::Fork->new->eval ('sub run { @_ }')
      ->AnyEvent::Fork::RPC::run ("run", serialiser => $AnyEvent::Fork::RPC::JSON_SERIALISER,
           on_error => sub { fail "json: on_error: @_" });
   my $b = blob (5 * $MIB, "j");
   my $cv = AE::cv;
   $rpc->($b, $cv);
   is_deeply [$cv->recv], [$b], "JSON serialiser: large string intact";
}

done_testing;
