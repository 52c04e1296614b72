# Payload sizes around every buffer boundary, up to 64 MiB, with the default
# and with odd buffer lengths (the buflen, buflen_req and buflen_res
# options; a buffer grows to rlen * 2 + 16 when fewer than 128 octets are
# free), for both backends:
# every octet comes back intact and in order.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

# string lengths: 0, around the buffer sizes, and so that the whole frame
# ("NN" + BER length + string) is around them
my @lengths = (0, 1);
for my $b (496, 4096, 65536) {
   my $ber = $b < 128 + 10 ? 1 : $b < 16384 + 10 ? 2 : 3;
   push @lengths, $b - 1, $b, $b + 1, map $b - 8 - $ber + $_, -1, 0, 1;
}
push @lengths, 1 << 20, (1 << 20) + 1;

# recognisable contents: position-dependent, so that a lost or repeated
# chunk shows (each MiB starts with its own number)
my $mib = join "", map { sprintf "%07x|", $_ } 0 .. (1 << 17) - 1;

sub blob {
   my ($len) = @_;
   substr join ("", map { sprintf ("%08x", $_) . substr $mib, 8 } 0 .. $len >> 20), 0, $len
}

sub worker {
   my ($async, %opt) = @_;
   AnyEvent::Fork
      ->new
      ->eval ('sub sync { @_ } sub async { my $d = shift; $d->(@_) }')
      ->AnyEvent::Fork::RPC::run ($async ? "async" : "sync", async => $async, %opt)
}

for my $async (0, 1) {
   for my $opt ([], [buflen => 1], [buflen_req => 10, buflen_res => 100_000], [buflen => 70_000]) {
      my $what = ($async ? "async" : "sync") . " (@$opt)";
      my (@errors, %got);
      my $done = AE::cv;

      my $rpc = worker ($async, @$opt,
         on_error   => sub { push @errors, @_; $done->send },
         on_destroy => $done,
      );

      # all queued at once: frames of every size follow each other
      for my $len (@lengths) {
         my $s = blob ($len);
         $rpc->($s, "tail", sub { $got{$len} = $_[0] eq $s && $_[1] eq "tail" && @_ == 2 });
      }
      undef $rpc;
      $done->recv;

      is_deeply [grep !$got{$_}, @lengths], [], "$what: every length comes back intact";
      is_deeply \@errors, [], "$what: no error";
   }
}

# 64 MiB, one at a time, in both directions; then a small one
for my $async (0, 1) {
   my $what = $async ? "async" : "sync";
   my $big = blob (64 << 20);
   my $done = AE::cv;
   my @got;

   my $rpc = worker ($async, on_destroy => $done, on_error => sub { push @got, "error @_"; $done->send });
   $rpc->($big, sub { push @got, length $_[0], $_[0] eq $big });
   $rpc->("after", sub { push @got, @_ });
   undef $rpc;
   $done->recv;

   is_deeply \@got, [64 << 20, 1, "after"], "$what: 64 MiB echoed intact, then the next request";
}

done_testing;
