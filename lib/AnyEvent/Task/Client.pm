package AnyEvent::Task::Client;

use strict;
use warnings;

our $VERSION = '0.805';

use AnyEvent ();
use AnyEvent::Socket ();
use Scalar::Util ();
use Socket ();
use AnyEvent::Fork::Core ();
use AnyEvent::Task::Companion ();
use Callback::Frame ();
use AnyEvent::Task::Client::Checkout ();

our $JSON = eval { require JSON::XS; JSON::XS->new->utf8 } || do { require JSON::PP; JSON::PP->new->utf8 };

my $NOSIGNAL = eval { Socket::MSG_NOSIGNAL () } || 0;

# Largest reply accepted (octets); a longer one breaks the connection.
our $MESSAGE_MAX = 64 * 1024 * 1024;

sub new {
   my ($class, %arg) = @_;
   my $self = bless {}, $class;

   $self->{connect} = $arg{connect} or die "need connect";
   $self->{name} = $arg{name};
   $self->{max_workers} = defined $arg{max_workers} ? $arg{max_workers} : 20;
   $self->{min_workers} = defined $arg{min_workers} ? $arg{min_workers} : 2;
   $self->{min_workers} = $self->{max_workers} if $self->{min_workers} > $self->{max_workers};
   $self->{timeout_given} = exists $arg{timeout};
   $self->{timeout} = $arg{timeout};
   $self->{max_checkouts} = $arg{max_checkouts} if exists $arg{max_checkouts};
   $self->{dont_refork_after_error} = $arg{dont_refork_after_error};

   $self->{total} = 0;        # connecting + connected workers
   $self->{connecting} = {};  # attempt id => tcp_connect guard
   $self->{idle} = [];        # connected workers without a checkout
   $self->{pending} = [];     # checkouts waiting for a worker, oldest first

   $self->_populate;
   $self
}

sub checkout {
   my ($self, %opt) = @_;
   my $co = AnyEvent::Task::Client::Checkout->_new ($self, %opt);
   $co->{waiting} = 1;
   push @{ $self->{pending} }, $co;
   # (with nothing idle and the pool full, _serve_pending does nothing)
   $self->_serve_pending if @{ $self->{idle} } || $self->{total} < $self->{max_workers};
   $co
}

sub _populate {
   my ($self) = @_;
   return if $self->{total} >= $self->{max_workers};
   my $n = $self->{min_workers} - $self->{total};
   $n = !@{ $self->{idle} } && !%{ $self->{connecting} } ? 1 : 0 if $n <= 0;
   $self->_connect_one for 1 .. $n;
}

sub _connect_one {
   my ($self) = @_;
   my $id = ++$self->{attempt};
   my $weak = $self;
   Scalar::Util::weaken ($weak);
   my $finished;

   $self->{total}++;
   my $guard = AnyEvent::Socket::tcp_connect ($self->{connect}[0], $self->{connect}[1], sub {
      my ($fh) = @_;
      $finished = 1;
      return unless $weak;
      delete $weak->{connecting}{$id};

      if (!$fh) {
         $weak->{total}--;
         $weak->{retry} ||= AE::timer 0.2, 1, sub { $weak->_populate if $weak };
         return;
      }

      delete $weak->{retry};
      push @{ $weak->{idle} }, $weak->_new_worker ($fh);
      $weak->_serve_pending;
   });
   $self->{connecting}{$id} = $guard unless $finished;
}

sub _new_worker {
   my ($self, $fh) = @_;
   my $w = {
      fh       => $fh,
      split    => AnyEvent::Task::Split->new ($MESSAGE_MAX),
      handlers => [],   # reply handlers, in the order the requests were written
      count    => 0,    # checkouts this worker was given
      wbuf     => "",
   };
   my $weak = $self;
   my $wweak = $w;
   Scalar::Util::weaken ($weak);
   Scalar::Util::weaken ($wweak);
   $w->{rw} = AE::io $fh, 0, sub { _on_read ($weak, $wweak) if $wweak };
   $w
}

# the worker whose replies are being handled
our $READING;

# _on_read ($self, $w) (in C: xs/task.c) reads what the worker sent and
# hands every complete reply to its handler (Checkout::_reply, or the
# common case in C), with $READING the worker; then what the handlers
# wrote behind unanswered requests goes out. A handler's exception is
# rethrown for the event loop, after the replies that arrived with it
# were handled. End-of-file or a read error: _conn_error.

# Bytes for a worker go out at once, unless an earlier request written to
# it is still unanswered: then they wait in wbuf until that worker's next
# replies have been handled (_on_read flushes), so that calls made in one
# go leave in one write. $lazy bytes (a release, which gets no reply)
# written while the worker's replies are handled wait as well: they leave
# with the next request a waiting checkout writes at once, or after the
# replies. Bytes the socket does not take wait for it to drain, in order.
sub _write {
   my ($w, $bytes, $lazy) = @_;
   return if $w->{dead};

   $w->{wbuf} .= $bytes;
   _flush ($w) unless $w->{ww} || @{ $w->{handlers} } > 1
                      || $lazy && $READING && $READING == $w;
}

sub _flush {
   my ($w) = @_;
   my $n = send $w->{fh}, $w->{wbuf}, $NOSIGNAL;

   if (!defined $n) {
      # a broken connection shows as end-of-file or an error on the read side
      $n = $!{EAGAIN} || $!{EINTR} ? 0 : length $w->{wbuf};
   }
   if ($n == length $w->{wbuf}) {
      $w->{wbuf} = "";
      delete $w->{ww};
      _close_worker ($w) if $w->{retire};
      return;
   }
   substr ($w->{wbuf}, 0, $n) = "";
   return if $w->{ww};
   my $wweak = $w;
   Scalar::Util::weaken ($wweak);
   $w->{ww} = AE::io $w->{fh}, 1, sub { _flush ($wweak) if $wweak };
}

sub _close_worker {
   my ($w) = @_;
   $w->{dead} = 1;
   delete @$w{qw(rw ww)};
   close delete $w->{fh} if $w->{fh};
}

# The worker's connection broke (end-of-file, error, a reply that is not
# a JSON array, or a reply nobody asked for).
sub _conn_error {
   my ($self, $w) = @_;
   return if $w->{dead};

   my $co = delete $w->{checkout};
   my @handlers = splice @{ $w->{handlers} }; # keep the callbacks alive for the error
   $self ? $self->_discard ($w) : _close_worker ($w);
   $co->_fatal_in_loop ("worker connection suddenly died") if $co;
}

# Drop a worker from the pool for good.
sub _discard {
   my ($self, $w) = @_;
   if (!$w->{dead}) {
      $self->{total}--;
      @{ $self->{idle} } = grep $_ != $w, @{ $self->{idle} };
      _close_worker ($w);
   }
   $self->_populate;
}

# Normal release of a checkout's worker ("dn" already written).
sub _release_worker {
   my ($self, $w) = @_;
   if (defined $self->{max_checkouts} && $w->{count} >= $self->{max_checkouts}) {
      $self->{total}--;
      if (length $w->{wbuf}) {
         $w->{retire} = 1;
      } else {
         _close_worker ($w);
      }
   } elsif (!$w->{dead}) {
      push @{ $self->{idle} }, $w;
   }
   $self->_serve_pending;
}

sub _remove_pending {
   my ($self, $co) = @_;
   return unless delete $co->{waiting};
   @{ $self->{pending} } = grep $_ != $co, @{ $self->{pending} };
}

sub _serve_pending {
   my ($self) = @_;
   my $pending = $self->{pending};
   my $idle = $self->{idle};

   while (@$pending && @$idle) {
      my $w = pop @$idle;     # the most recently used worker
      my $co = shift @$pending;
      delete $co->{waiting};
      $w->{count}++;
      $co->_bind ($w);
   }
   $self->_populate if @$pending && !@$idle;
}

sub DESTROY {
   my ($self) = @_;
   # checkouts still waiting go first, while they can still see us
   my @pending = splice @{ $self->{pending} || [] };
   @pending = ();
   delete $self->{retry};
   %{ $self->{connecting} || {} } = ();
   _close_worker ($_) for splice @{ $self->{idle} || [] };
}

# undocumented methods of the original, kept under their names
sub populate_workers { $_[0]->_populate }
sub try_to_fill_pending_checkouts { $_[0]->_serve_pending }

1

__END__

=head1 NAME

AnyEvent::Task::Client - a pool of AnyEvent::Task workers, leased out as checkouts

=head1 SYNOPSIS

   use AnyEvent::Task::Client;
   use Callback::Frame;

   my $client = AnyEvent::Task::Client->new (
      connect => ['unix/', '/tmp/my.socket'],
      name => 'resizer',
      max_workers => 10,
      timeout => 5,
   );

   my $checkout = $client->checkout;

   frame_try {
      $checkout->resize ('a.png', 100, 100, sub {
         my ($checkout, $result) = @_;
         ...
      });
   } frame_catch {
      warn "resize failed: $@";
   };

=head1 DESCRIPTION

The client keeps connections to an L<AnyEvent::Task::Server>; each
connection is one worker process. C<checkout> hands one out exclusively
(see L<AnyEvent::Task::Client::Checkout>); when the checkout is released
the worker goes back to the pool.

=head1 CONSTRUCTOR

=over

=item AnyEvent::Task::Client->new (%options)

Never blocks and never fails because the server is unreachable: failed
connection attempts are retried (0.2 s after the first failure, then every
second) until one succeeds, and waiting checkouts simply wait, within
their timeouts. A server that starts (or restarts) later is picked up.

=over

=item connect => [$host, $service] (required)

Passed to L<AnyEvent::Socket/tcp_connect>, e.g. C<['unix/', $path]> or
C<['10.0.0.5', 5000]>. Dies with C<need connect> when missing.

=item min_workers => $n (default 2)

Connections opened at once, in C<new>. At least one is always opened.

=item max_workers => $n (default 20)

Upper bound on connections (connecting or connected). Beyond
C<min_workers> the pool grows one connection at a time, when checkouts
wait and nothing is idle. Idle connections are never closed.

=item timeout => $seconds

Default timeout of checkouts. Absent: 30 seconds; present but C<undef>: no
timeout.

=item max_checkouts => $n

A worker that served this many checkouts is closed (after its
C<checkout_done>) instead of returning to the pool.

=item dont_refork_after_error => $bool

By default a worker whose checkout saw an error is discarded on release.
With this option it returns to the pool (fatal errors still discard it).

=item name => $string

Names the frames created around your callbacks (C<NAME -E<gt> METHOD>),
which shows in the traces catch handlers receive.

=back

=back

=head1 METHODS

=over

=item $checkout = $client->checkout (timeout => $seconds, log_defer_object => $log)

Returns a new checkout at once (never blocks, never fails). If a worker is
idle it is bound to the checkout right away; otherwise the checkout waits,
behind every checkout created before it. C<timeout> overrides the client's
(fractions allowed; C<undef>: none; C<0>: fires on the next loop
iteration). C<log_defer_object> is a L<Log::Defer> (or compatible) object
that receives a timer per call and the workers' log data.

=back

Keep the client alive while its checkouts are in use: checkouts refer to it
weakly. Destroying it closes every connection no checkout holds.

=head1 VARIABLES

=over

=item $AnyEvent::Task::Client::MESSAGE_MAX

The largest reply, in octets, a worker may send (64 MiB, also the
largest value allowed). A longer one is treated as a broken connection
(C<worker connection suddenly died>). It applies to connections opened
after it is set. Workers apply the same bound to requests.

=back

=head1 HOW THE POOL REACTS TO FAILURES

A worker that dies while idle is dropped silently and replaced when
needed. One that dies while bound to a checkout fails that checkout with
C<worker connection suddenly died>. A timeout closes the worker's
connection and lets the next waiting checkout have a new worker at once.

=head1 DIFFERENCES FROM THE ORIGINAL

=over

=item * an idle worker's death no longer raises an exception in the event
loop, nor hands a dead connection to the next checkout;

=item * destroying a client while it connects raises nothing later, and a
dropped client stops retrying;

=item * a timeout lets waiting checkouts have the freed worker slot at
once;

=item * the JSON stream is read through the distribution's C splitter;
replies are decoded with JSON::XS (JSON::PP if JSON::XS is missing), as
before;

=item * the bytes on the wire are the same, but fewer writes carry them:
calls made on a checkout while an earlier call on it is unanswered are
written together once the worker's next replies have been handled, and
the release of a checkout (C<dn>) made while its worker's replies are
handled goes out with the next checkout's first request on that worker,
or after those replies.

=back

=cut
