# AnyEvent::Task: the client's reply loop (xs/task.c) over batches of
# replies: callbacks that assign to their arguments, $@ in callbacks,
# callbacks that die, the worker dying, and malformed or oversized
# replies in the middle of a batch
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use Callback::Frame;
use JSON::XS ();
use POSIX ();
use IO::Socket::UNIX ();
use Test::More;

my $json = JSON::XS->new->utf8;

# --- a hand-written worker: answers a batch of requests in one write, each
# reply as its argument says (forked before any watcher)
my $rawpath = sock_path ();
my $lsock = IO::Socket::UNIX->new (Local => $rawpath, Listen => 16) or die "listen: $!";
my $rawpid = fork;
die "fork: $!" unless defined $rawpid;
unless ($rawpid) {
   while (my $c = $lsock->accept) {
      next if fork;
      my $split = AnyEvent::Task::Split->new;
      my $out = "";
      while (1) {
         my $m = $split->next;
         if (!defined $m) {
            defined syswrite $c, $out or POSIX::_exit (0) if length $out;
            $out = "";
            my $n = $split->fill ($c);
            POSIX::_exit (0) unless $n;
            next;
         }
         my $req = $json->decode ($m);
         next if $req->[0] eq 'dn';
         my $what = $req->[2];
         $out .= $what eq 'malformed' ? q{["ok",{},]}
               : $what eq 'oversized' ? q{["ok",{},"} . ("x" x (2 * 1024 * 1024)) . q{"]}
               : $what eq 'notarray'  ? q{"ok"}
               : $json->encode (['ok', {}, $what]);
      }
   }
   POSIX::_exit (0);
}
close $lsock;

# --- a real server
my $path = server (
   interface => sub {
      shift if $_[0] eq "echo";
      POSIX::_exit (0) if $_[0] eq 'exit';
      die "failed $_[0]\n" if $_[0] =~ /^fail/;
      $_[0]
   },
);
my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path], name => "R", max_workers => 2);

# a checkout bound to its worker (it answered once)
sub bound {
   my $co = $client->checkout (@_);
   call ($co, 'warm');
   $co
}

# Make one call per argument in one go, inside a frame_try; wait for
# $events callbacks and catches in all: (results seen, errors caught)
sub batch {
   my ($co, $events, @args) = @_;
   my (@seen, @caught);
   my $cv = AE::cv;
   frame_try {
      for my $i (@args) {
         $co->($i, sub { push @seen, $_[1]; $cv->send unless --$events });
      }
   } frame_catch {
      push @caught, $@;
      $cv->send unless --$events;
   };
   $cv->recv;
   (\@seen, \@caught)
}

# the callbacks get a copy of the checkout: assigning to it harms nothing
for my $timeout (undef, 30) {
   for my $form (qw(code method frame log)) {
      my $log = $form eq 'log' ? LogStub->new : undef;
      my $co = bound (timeout => $timeout, $log ? (log_defer_object => $log) : ());
      my (@got, @self);
      my $cv = AE::cv;
      my $mk = sub {
         my ($i, $how) = @_;
         my $cb = sub {
            push @self, ref $_[0];
            push @got, $_[1];
            $how eq 'undef' ? undef $_[0] : ($_[0] = 1);
            $cv->end;
         };
         $form eq 'frame' ? frame (code => $cb) : $cb
      };
      for my $i (1 .. 6) {
         $cv->begin;
         my $cb = $mk->($i, $i % 2 ? 'undef' : 'one');
         $form eq 'method' ? $co->echo ($i, $cb) : $co->($i, $cb);
      }
      $cv->recv;
      my $what = "$form form, timeout " . (defined $timeout ? $timeout : "none");
      is_deeply (\@got, [1 .. 6], "$what: callbacks that assign to \$_[0]: every result, in order");
      is_deeply (\@self, [('AnyEvent::Task::Client::Checkout') x 6], "$what: each got the checkout");
      is (call ($co, 'after'), 'after', "$what: the checkout still works");
      ok (!$co->{timer}, "$what: no timer left armed") if defined $timeout;
   }
}

# a call written at once that the socket does not take whole (the rest
# waits for it to drain), and calls made behind it meanwhile
{
   my $co = bound (timeout => undef);
   my @len;
   my $cv = AE::cv;
   for my $c (qw(a b c)) {
      $cv->begin;
      $co->($c x (3 * 1024 * 1024), sub { push @len, length $_[1]; $cv->end });
   }
   ok ($co->{worker}{ww}, "a large call waits for the socket to drain");
   $cv->recv;
   is_deeply (\@len, [(3 * 1024 * 1024) x 3], "large calls: every one delivered whole, in order");
   is (call ($co, 'after'), 'after', "the checkout still works");
}

# $@ is undefined in the callbacks, and what it was after
{
   my $co = bound (timeout => undef);
   my @defined;
   my $cv = AE::cv;
   for my $i (1 .. 4) {
      $cv->begin;
      $co->($i, sub { push @defined, defined $@ ? "defined '$@'" : "undef"; $@ = "clobbered"; $cv->end });
   }
   $@ = "before";
   $cv->recv;
   is_deeply (\@defined, [("undef") x 4], "\$@ is undefined in each callback of a batch");
}

# a callback that dies in the middle of a batch: its frame's handler gets
# the error, the rest of the batch is delivered
{
   my $co = bound (timeout => undef);
   my (@seen, @caught);
   my $cv = AE::cv;
   frame_try {
      for my $i (1 .. 5) {
         $cv->begin;
         $co->($i, sub { push @seen, $_[1]; $cv->end; die "died in $_[1]\n" if $_[1] == 2 || $_[1] == 4 });
      }
   } frame_catch {
      push @caught, $@;
   };
   $cv->recv;
   is_deeply (\@seen, [1 .. 5], "callbacks dying mid-batch: every callback ran, in order");
   is_deeply (\@caught, ["died in 2\n", "died in 4\n"], "each error reached the frame's handler");
   is (call ($co, 'after'), 'after', "the checkout still works");
}

# without a handler the error leaves the event loop (EV warns, the pure-Perl
# loop lets it out of recv) after the rest of the batch was handled
{
   my $co = bound (timeout => undef);
   my (@seen, @caught);
   my $cv = AE::cv;
   local $SIG{__WARN__} = sub { push @caught, @_ };
   for my $i (1 .. 4) {
      $cv->begin;
      $co->($i, sub { push @seen, $_[1]; $cv->end; die "plain death\n" if $_[1] == 2 });
   }
   eval { $cv->recv };
   push @caught, $@ if $@;
   is_deeply (\@seen, [1 .. 4], "a plain callback dying mid-batch: the rest still delivered");
   like ("@caught", qr/plain death/, "its error left the event loop");
}

# the worker's errors in a batch: the earlier calls' callbacks run, the
# error reaches the frame, the later calls still complete
{
   my ($seen, $caught) = batch (bound (timeout => undef), 3, qw(1 fail2 3));
   is_deeply ($seen, [1, 3], "an error reply mid-batch: the others' callbacks ran");
   is_deeply ($caught, ["failed fail2\n"], "the error reached the frame");
}

# the worker dies in the middle of a batch
{
   my $co = bound (timeout => undef);
   my ($seen, $caught) = batch ($co, 3, qw(1 2 exit 4 5));
   is_deeply ($seen, [1, 2], "the worker dies mid-batch: the replies before it were delivered");
   like ($caught->[0], qr/^worker connection suddenly died at /, "then the connection error");
   is (scalar @$caught, 1, "once");
}

# malformed and oversized replies in the middle of a batch (the hand-written
# worker answers the batch in one write)
$AnyEvent::Task::Client::MESSAGE_MAX = 1024 * 1024;
my $raw = AnyEvent::Task::Client->new (connect => ['unix/', $rawpath], max_workers => 1);
for my $bad (qw(malformed oversized notarray)) {
   my $co = $raw->checkout (timeout => 30);
   call ($co, 'warm');
   my ($seen, $caught) = batch ($co, 3, '1', '2', $bad, '4');
   is_deeply ($seen, [1, 2], "$bad reply mid-batch: the replies before it were delivered");
   like ($caught->[0], qr/^worker connection suddenly died at /, "$bad reply mid-batch: then the connection error");
   my ($ok, $e) = call_err ($co, 'later');
   like ($e, qr/^worker connection suddenly died at /, "$bad reply mid-batch: later calls fail at once");
}
is (call ($raw->checkout (timeout => 30), 'fresh'), 'fresh', "a fresh connection works after all that");

kill KILL => $rawpid;
done_testing;

# a deferred log that records nothing
package LogStub;
sub new { bless {}, shift }
sub timer { bless [], 'LogStub::Timer' }
sub merge { }
