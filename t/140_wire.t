# The bytes on the socket, as the original writes them: frames "a L/a*"
# (a command letter and a 32-bit length) with native-order
# lengths, BER string lists, and descriptors as one data byte "\0" plus
# SCM_RIGHTS. Captured from an object made with _new on one end of a
# socketpair; the other end plays the child.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use Test::More;
use AEFHelp;

use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC MSG_PEEK);
use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::Core;

sub pair {
   socketpair my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC or die "socketpair: $!";
   (AnyEvent::Fork->_new ($a), $b)
}

my $LE = pack ("L", 1) eq "\1\0\0\0";

# everything written, read as raw bytes (no descriptors involved)
sub written {
   my ($obj, $peer) = @_;
   my $buf = "";
   set_blocking ($peer, 0);
   my $w = AE::io $peer, 0, sub { sysread $peer, $buf, 65536, length $buf };
   flush_queue ($obj);
   undef $w;
   1 while sysread $peer, $buf, 65536, length $buf;
   $buf
}

# the frames as the child's reader sees them: [letter, payload] or, for a
# descriptor, ["fd", data byte, descriptor]
sub frames {
   my ($obj, $peer, $n) = @_;
   flush_queue ($obj);
   set_blocking ($peer, 1);
   my @f;
   for (1 .. $n) {
      my $hdr = read_exactly ($peer, 5);
      my ($l, $len) = unpack "a L", $hdr;
      push @f, [$l, read_exactly ($peer, $len)];
      if ($l eq "h") {
         defined recv ($peer, my $byte, 1, MSG_PEEK) or die "recv: $!";
         my $fd = AnyEvent::Fork::Core::fd_recv ($peer);
         push @f, ["fd", $byte, $fd];
      }
   }
   set_blocking ($peer, 0);
   my $more = sysread $peer, my $rest, 1;
   push @f, ["extra", $rest] if $more;
   @f
}

SKIP: {
   skip "the captured examples are little-endian", 6 unless $LE;

   my ($o, $p) = pair;
   $o->eval ('print "x"', "arg1", "a" x 130);
   is (written ($o, $p), "e\x93\0\0\0" . "\x09" . 'print "x"' . "\x04arg1" . "\x81\x02" . "a" x 130,
       'eval (\'print "x"\', "arg1", "a" x 130): the captured bytes');

   ($o, $p) = pair;
   $o->require ("Foo::Bar", "Baz");
   is (written ($o, $p), "e\x23\0\0\0" . "\x16" . 'require "$_.pm" for @_' . "\x07Foo/Bar" . "\x03Baz",
       'require ("Foo::Bar", "Baz"): the captured bytes');

   ($o, $p) = pair;
   $o->send_arg ("s1", "", "s3");
   is (written ($o, $p), "a\x07\0\0\0\x02s1\x00\x02s3", 'send_arg ("s1", "", "s3"): the captured bytes');

   ($o, $p) = pair;
   my $fh = $o->[1];
   my $got;
   $o->run ("main::worker", sub { $got = shift });
   is (written ($o, $p), "r\x0c\0\0\0main::worker", 'run ("main::worker", $cb): the captured bytes');
   is ($got, $fh, "... and the callback got the socket");

   ($o, $p) = pair;
   $o->send_arg (undef, "x");
   is (written ($o, $p), "a\x03\0\0\0\x00\x01x", "send_arg (undef, ...): undef is an empty string");
}

# native order and BER lengths in general
{
   my ($o, $p) = pair;
   my @s = ("", "y" x 127, "z" x 128, "w" x 16383, "v" x 16384, "u" x 2_100_000);
   $o->send_arg (@s)->eval ("code", "p");
   my $payload = join "", map { pack ("w", length) . $_ } @s;
   my $want = "a" . pack ("L", length $payload) . $payload
            . "e" . pack ("L", 7) . "\x04code\x01p";
   my $got = written ($o, $p);
   is (length $got, length $want, "2 MB of arguments: all written (partial writes included)");
   ok ($got eq $want, "... as 'a L/a*' frames with BER lengths 1, 2 and 3 octets long (127/128, 16383/16384)");
   ok (!$o->[2], "... and the watcher is gone afterwards");
}

# send_fh: "h" with an empty payload, then one data byte "\0" with the descriptor
{
   my ($o, $p) = pair;
   pipe my $r, my $w or die;
   $o->send_arg ("before")->send_fh ($w)->send_arg ("after");
   my @st = stat $w;
   undef $w;
   my @f = frames ($o, $p, 3);
   is ($f[0][0] . $f[0][1], "a\x06before", "the frame before the descriptor");
   is_deeply ($f[1], ["h", ""], "send_fh: an 'h' frame with an empty payload");
   is ($f[2][0], "fd", "... followed by a descriptor");
   is ($f[2][1], "\0", "... carried by exactly one data byte \"\\0\"");
   ok ($f[2][2] >= 0, "... received with fd_recv");
   open my $fh, ">&=", $f[2][2] or die "fdopen: $!";
   my @st2 = stat $fh;
   is ("$st2[0]:$st2[1]", "$st[0]:$st[1]", "... it is the pipe that was sent");
   is ($f[3][0] . $f[3][1], "a\x05after", "the frame after the descriptor");
   ok (!$f[4], "nothing else was written");
   syswrite $fh, "via passed fd";
   close $fh;
   is (slurp ($r), "via passed fd", "the passed descriptor works, and no other copy of the write end is left");
}

# fork: h + the new socket's child end, then "f"
{
   my ($o, $p) = pair;
   my $new = $o->fork;
   $o->send_arg ("later");
   my @f = frames ($o, $p, 3);
   is_deeply ($f[0], ["h", ""], "fork: an 'h' frame");
   is ($f[1][0], "fd", "... a descriptor");
   is ($f[1][1], "\0", "... with the data byte \"\\0\"");
   is_deeply ($f[2], ["f", ""], "... then an 'f' frame with an empty payload");
   is ($f[3][0] . $f[3][1], "a\x05later", "commands queued after the fork go to the original object");
   open my $sock, "+<&=", $f[1][2] or die "fdopen: $!";
   syswrite $sock, "ping";
   set_blocking ($new->[1], 1);
   is (read_exactly ($new->[1], 4), "ping", "the descriptor is the other end of the new object's socket");
   syswrite $new->[1], "pong";
   is (read_exactly ($sock, 4), "pong", "... in both directions");
   close $sock;
   flush_queue ($new);
   is (drain ($new->[1]), "", "no other copy of the child end is left (end-of-file once it is closed)");
}

# order: strings and descriptors strictly in queue order
{
   my ($o, $p) = pair;
   pipe my $r1, my $w1 or die;
   pipe my $r2, my $w2 or die;
   $o->send_fh ($w1)->send_fh ($w2)->eval ("1");
   my @f = frames ($o, $p, 3);
   is (join (",", map $_->[0], @f), "h,fd,h,fd,e", "h, descriptor, h, descriptor, e: strictly in order");
   my ($i1, $i2) = map { open my $fh, ">&=", $_->[2] or die; (stat $fh)[1] } @f[1, 3];
   is ("$i1 $i2", join (" ", (stat $w1)[1], (stat $w2)[1]), "... the descriptors in the order they were queued");
}

done_testing;
