# The parent against a hand-written child on a socketpair: the exact
# request bytes the original writes (big-endian 32-bit length, plus a
# 32-bit request id for the asynchronous backend), delivery of events and
# responses, malformed frames, every transport error text (listed under
# on_error in AnyEvent::Fork::RPC's POD), and the
# shutdown. A duck-typed fork object hands the parent's end to RPC.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use AEFHelp;

use Test::More;

use AnyEvent;
use AnyEvent::Fork::RPC;
use Socket;

{
   package WireFork;
   # ->new ($parent_end): run connects at once (from the event loop);
   # ->new: run keeps the callback in $WireFork::CONNECT
   our $CONNECT;
   sub new      { my ($class, $fh) = @_; bless \$fh, $class }
   sub eval     { $_[0] }
   sub send_arg { $_[0] }
   sub run {
      my ($self, $func, $cb) = @_;
      my $fh = $$self;
      if ($fh) { AE::postpone { $cb->($fh) } } else { $CONNECT = sub { $cb->(@_) } }
   }
}

# a connected RPC object and the child's end; %opt are RPC options
sub wire {
   my (%opt) = @_;
   socketpair my $p, my $c, AF_UNIX, SOCK_STREAM, 0 or die "socketpair: $!";
   my $rpc = WireFork->new ($p)->AnyEvent::Fork::RPC::run ("f", %opt);
   ($rpc, $c)
}

# the child reads exactly $n octets (or up to end-of-file)
sub child_read {
   my ($c, $n) = @_;
   my $buf = "";
   my $cv = AE::cv;
   my $w = AE::io $c, 0, sub {
      sysread $c, $buf, $n - length $buf, length $buf or return $cv->send;
      $cv->send if length $buf >= $n;
   };
   $cv->recv;
   $buf
}

sub child_write { syswrite $_[0], $_[1] or die "child write: $!" }

# --- Sync: bytes, delivery, order matching -------------------------------

{
   my (@log, @errors);
   my ($rpc, $c) = wire (
      on_event => sub { push @log, ["event", @_] },
      on_error => sub { push @errors, @_ },
   );

   $rpc->("a", "bc", sub { push @log, ["r1", @_] });
   $rpc->("", sub { push @log, ["r2", @_] });

   is hexs (child_read ($c, 14)), hexs ("\0\0\0\5\1a\2bc" . "\0\0\0\1\0"),
      "sync requests: 00000005 0161026263, 00000001 00";

   child_write $c, "\0\0\0\0\0\0\0\6\3evt\1x" . "\0\0\0\1\0\0\0\2\1r" . "\0\0\0\1\0\0\0\0";
   wait_until sub { @log == 3 };
   is_deeply \@log, [["event", "evt", "x"], ["r1", "r"], ["r2"]], "event and responses, in order";

   # Sync responses are matched by order; the id is not looked at
   @log = ();
   $rpc->("q", sub { push @log, ["r3", @_] });
   child_read ($c, 6);
   child_write $c, "\0\0\0\7\0\0\0\2\1s";
   wait_until sub { @log == 1 };
   is_deeply \@log, [["r3", "s"]], "a Sync response with another id still answers the first request";

   # a payload that is not a valid string list: as perl's unpack has it
   @log = ();
   $rpc->("q", sub { push @log, ["r4", @_] });
   child_read ($c, 6);
   child_write $c, "\0\0\0\1\0\0\0\3\5ab";
   wait_until sub { @log == 1 };
   is_deeply \@log, [["r4", "ab"]], "length past the end: a short string, like unpack";

   # one perl's unpack rejects: the exception leaves the event loop (EV
   # reports and ignores it, the pure-Perl loop passes it to recv)
   my @warn;
   local $SIG{__WARN__} = sub { push @warn, @_ };
   @log = ();
   $rpc->("q", sub { push @log, ["r5", @_] });
   $rpc->("q", sub { push @log, ["r6", @_] });
   child_read ($c, 12);
   child_write $c, "\0\0\0\1\0\0\0\4\2ab\x81";
   my $died = eval { wait_until sub { @warn || @log }; 1 } ? "" : $@;
   like $died . join ("", @warn), qr/Unterminated compressed integer in unpack/,
      "unterminated length: perl's unpack error leaves the event loop";
   child_write $c, "\0\0\0\1\0\0\0\2\1t";
   wait_until sub { @log };
   is_deeply \@log, [["r6", "t"]], "the next response still reaches the next callback";
   is_deeply \@errors, [], "no on_error so far";

   # a callback that dies stops the round; the loop's next turn continues
   # it without new data from the child
   @log = (); @warn = ();
   $rpc->("q", sub { push @log, "r7"; die "r7 died\n" });
   $rpc->("q", sub { push @log, "r8" });
   $rpc->("q", sub { push @log, "r9" });
   child_read ($c, 18);
   child_write $c, "\0\0\0\1\0\0\0\0" x 2;
   $died = eval { wait_until sub { @warn || @log }; 1 } ? "" : $@;
   like $died . join ("", @warn), qr/^(EV: error in callback \(ignoring\): )?r7 died$/, "the callback's exception leaves the event loop";
   is $log[0], "r7", "the exception came from the first callback";
   wait_until sub { @log == 2 };
   is_deeply \@log, ["r7", "r8"], "the frame after it is delivered, without new readiness";
   child_write $c, "\0\0\0\1\0\0\0\0";
   wait_until sub { @log == 3 };
   is_deeply \@log, ["r7", "r8", "r9"], "and the next readiness goes on in order";

   # unexpected data: reported, and the reader stops
   @log = ();
   child_write $c, "\0\0\0\1\0\0\0\0" . "\0\0\0\0\0\0\0\1\0";
   wait_until sub { @errors };
   is_deeply \@errors, ["unexpected data from child"], "response without a request: unexpected data from child";
   child_write $c, "\0\0\0\0\0\0\0\1\0";
   my $more = AE::cv; my $t = AE::timer 0.05, 0, sub { $more->send }; $more->recv;
   is_deeply \@log, [], "nothing is delivered after it";
}

# --- Async: bytes, ids, out-of-order responses ---------------------------

{
   my (@log, @errors);
   my ($rpc, $c) = wire (async => 1, on_error => sub { push @errors, @_ });

   $rpc->("a", "bc", sub { push @log, ["r1", @_] });
   $rpc->("", sub { push @log, ["r2", @_] });

   is hexs (child_read ($c, 22)), hexs ("\0\0\0\1\0\0\0\5\1a\2bc" . "\0\0\0\2\0\0\0\1\0"),
      "async requests: 00000001 00000005 0161026263, 00000002 00000001 00";

   child_write $c, "\0\0\0\2\0\0\0\2\1y" . "\0\0\0\1\0\0\0\2\1x";
   wait_until sub { @log == 2 };
   is_deeply \@log, [["r2", "y"], ["r1", "x"]], "responses matched by id";

   child_write $c, "\0\0\0\1\0\0\0\0";
   wait_until sub { @errors };
   is_deeply \@errors, ["unexpected data from child"], "an id answered twice: unexpected data from child";
}

# --- end-of-file, errors ----------------------------------------------------

{
   my ($destroyed, @errors);
   my ($rpc, $c) = wire (on_error => sub { push @errors, @_ }, on_destroy => sub { ++$destroyed });
   $rpc->(1, sub { });
   child_read ($c, 6);
   child_write $c, "\0\0\0\1\0\0\0\0";
   shutdown $c, 1;
   wait_until sub { $destroyed || @errors };
   ok $destroyed && !@errors, "end-of-file with nothing outstanding: on_destroy";
}

{
   my ($destroyed, @errors);
   my ($rpc, $c) = wire (on_error => sub { push @errors, @_ }, on_destroy => sub { ++$destroyed });
   $rpc->(1, sub { });
   child_read ($c, 6);
   shutdown $c, 1;
   wait_until sub { $destroyed || @errors };
   is_deeply [$destroyed, @errors], [undef, "unexpected eof"], "end-of-file while a request is outstanding: unexpected eof";
}

{
   my @errors;
   my ($rpc, $c) = wire (on_error => sub { push @errors, @_ });
   $rpc->(1, sub { });
   # the request sits unread in the child's socket when it is closed
   my $cv = AE::cv; my $w = AE::io $c, 0, sub { $cv->send }; $cv->recv;
   undef $w;
   close $c;
   wait_until sub { @errors };
   is_deeply \@errors, ["read: Connection reset by peer"], "connection reset: read: \$!";
}

{
   my @errors;
   my ($rpc, $c) = wire (on_error => sub { push @errors, @_ });
   shutdown $c, 0; # the child reads no more: writes fail, reads do not
   $rpc->(1, sub { });
   wait_until sub { @errors };
   my $more = AE::cv; AE::postpone { $more->send }; $more->recv;
   is_deeply \@errors, ["Broken pipe"], "write error: the bare \$!, once";
}

# --- shutdown ---------------------------------------------------------------

{
   my ($rpc, $c) = wire (on_error => sub { });
   $rpc->("x", sub { }) for 1 .. 3;
   undef $rpc;
   is hexs (child_read ($c, 1000)), hexs ("\0\0\0\2\1x" x 3), "dropped: the queued requests, then end-of-file";
}

{
   socketpair my $p, my $c, AF_UNIX, SOCK_STREAM, 0 or die;
   my $rpc = WireFork->new->AnyEvent::Fork::RPC::run ("f", on_error => sub { });
   $rpc->("early", sub { });
   undef $rpc;
   $WireFork::CONNECT->($p);
   is hexs (child_read ($c, 1000)), hexs ("\0\0\0\6\5early"), "called and dropped before connecting: written, then end-of-file";
}

done_testing;
