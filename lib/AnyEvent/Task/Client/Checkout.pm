package AnyEvent::Task::Client::Checkout;

use strict;
use warnings;

our $VERSION = '0.805';

use Scalar::Util ();
use AnyEvent::Fork::Core ();
use AnyEvent::Task::Companion ();
use Callback::Frame ();

# Our own Callback::Frame lets a call's callback run under a bare frame
# record instead of a frame of its own (a closure with a registry entry);
# with another Callback::Frame every callback gets a real frame.
my $LIGHT = defined &Callback::Frame::_aef_record;

# where the light frames say they were made (for the C part too)
our @HERE = (__FILE__, __LINE__);

# $checkout->(...) calls the code ref _make_code returns: an XSUB (_code)
# that holds the checkout, as a closure over it would, and does what
# _queue_request ($checkout, undef, ...) does (the common case in C). The
# checkout keeps it weakly and each request in flight strongly, so queued
# calls share one. The overload itself (_deref, in C) returns
# $checkout->{code} when it is there, else what _make_code makes.
sub _make_code {
   my ($self) = @_;
   my $code = _code ($self, $LIGHT && \&Callback::Frame::_aef_record, \$AnyEvent::Task::Client::JSON, \@HERE, \*Callback::Frame::top);
   Scalar::Util::weaken ($self->{code} = $code);
   $code
}

use overload
   '&{}' => \&_deref,
   fallback => 1;

our $AUTOLOAD;

our $IN_GLOBAL_DESTRUCTION;
END { $IN_GLOBAL_DESTRUCTION = 1 }

sub _new {
   my ($class, $client, %opt) = @_;
   my $self = bless {
      client  => $client,
      timeout => exists $opt{timeout} ? $opt{timeout}
               : $client->{timeout_given} ? $client->{timeout}
               : 30,
      queue   => [],   # [bytes, callback's frame, method] not written yet
      record  => undef, # the light frames' last record (weak), see _queue_request
   }, $class;
   $self->{log} = $opt{log_defer_object} if $opt{log_defer_object};
   Scalar::Util::weaken ($self->{client});
   $self
}

sub import {}
sub unimport {}

sub AUTOLOAD {
   my $self = shift;
   (my $name = $AUTOLOAD) =~ s/.*:://;
   die "$self is not an object" unless ref $self;
   _queue_request ($self, $name, @_);
}

# A call's callback is kept as its frame: a real frame (the caller's, or
# one made here), or [record, code] for a light one (see $LIGHT).
sub _queue_request {
   my $self = shift;
   my $method = shift;
   # the callback is the last element of (METHOD, ARGS...)
   my $cb = @_ ? pop : $method;

   die "the last argument of a call must be a callback (a code reference)"
      if defined $cb && !(ref $cb eq 'CODE' || ref $cb && overload::Method ($cb, '&{}'));

   my $client = $self->{client};
   my $cname = $client ? $client->{name} : undef;
   my $name = defined $cname ? "$cname -> " . (defined $method ? $method : "NO METHOD")
            : defined $method ? "ANONYMOUS CLIENT -> $method"
            : undef;
   my $f = $cb;
   if ($LIGHT && defined $cb) {
      # (no record for a frame: it is used as it is)
      my $rec = Callback::Frame::_aef_record ($name, $self->{record}, $cb, @HERE);
      $f = [$rec, $cb] if $rec;
   } elsif (!Callback::Frame::is_frame ($cb)) {
      $f = Callback::Frame::frame ((defined $name ? (name => $name) : ()), code => $cb);
   }

   # ["do",{},METHOD,ARGS...]: the arguments' array, encoded, behind the head
   unshift @_, $method if defined $method;
   my $bytes = @_ ? '["do",{},' . substr ($AnyEvent::Task::Client::JSON->encode (\@_), 1) : '["do",{}]';

   # bound, nothing queued before it: out at once
   my $w = $self->{worker};
   return _send ($self, $w, $bytes, $f, $method)
      if $w && !@{ $self->{queue} } && !defined $self->{fatal};

   push @{ $self->{queue} }, [$bytes, $f, $method];
   _arm ($self);
   _pump ($self);
   return;
}

# Raise $err in the frame $f of a call's callback, as if the callback had
# died with it.
sub _raise {
   my ($f, $err) = @_;
   my $die = sub { die $err };
   ref $f eq 'ARRAY' ? Callback::Frame::_aef_run ($f->[0], $die)
      : Callback::Frame::frame (existing_frame => $f, code => $die)->();
}

sub _arm {
   my ($self) = @_;
   return if $self->{timer} || !defined $self->{timeout} || $self->{no_timer};
   my $weak = $self;
   Scalar::Util::weaken ($weak);
   $self->{timer} = AE::timer $self->{timeout}, 0, sub { $weak->_timed_out if $weak };
}

sub _bind {
   my ($self, $w) = @_;
   $self->{worker} = $w;
   $w->{checkout} = $self;
   Scalar::Util::weaken ($w->{checkout});
   $self->_pump;
}

# Write the next queued request (or replay the stored fatal error to it).
sub _pump {
   my ($self) = @_;
   my $w = $self->{worker};
   return unless @{ $self->{queue} } && ($w || defined $self->{fatal});

   my ($bytes, $f, $method) = @{ shift @{ $self->{queue} } };
   if (defined $self->{fatal}) {
      $self->{current} = $f;
      Scalar::Util::weaken ($self->{current});
      return $self->_throw_error ($self->{fatal});
   }
   _send ($self, $w, $bytes, $f, $method);
}

# Write a request for $method (undef: none) to the bound worker $w; $f is
# its callback's frame.
sub _send {
   my ($self, $w, $bytes, $f, $method) = @_;
   Scalar::Util::weaken ($self->{current} = $f);
   $self->{timer} || _arm ($self);
   my $log = $self->{log};

   # the reply handler; it holds the checkout (and the code ref calls on
   # it share) while the request is in flight
   push @{ $w->{handlers} }, [$self, $f, $log,
      $log ? $log->timer (defined $method ? $method : "->()") : undef, $self->{code}];
   AnyEvent::Task::Client::_write ($w, $bytes);
   return;
}

# Handle the reply to one written request: $h is its handler,
# [checkout, callback's frame, deferred log, log timer]. Returns what the
# callback (or the frame's handlers) died with, in an array, or nothing.
sub _reply {
   my ($h, $reply) = @_;
   my ($self, $f, $log) = @$h;
   my ($kind, $meta, $val) = @$reply;
   undef $h->[3];

   my $ok = eval {
      $log->merge ($meta->{ld}) if $log && ref $meta eq 'HASH' && ref $meta->{ld} eq 'HASH';
      if ($kind eq 'ok') {
         local $@ = undef;
         # (a copy of the checkout: the callback may assign to its $_[0])
         if (ref $f eq 'ARRAY') {
            # (its code may have left its package's back references: xs/task.c)
            AnyEvent::Fork::Core::closure_attach ($f->[1]);
            Callback::Frame::_aef_run (@$f, my $co = $self, $val);
         } else {
            $f->(my $co = $self, $val);
         }
      } elsif ($kind eq 'er') {
         $self->{error} = 1;
         @{ $self->{queue} } = ();
         _raise ($f, $val);
      } else {
         die "Unrecognized response_code: $kind";
      }
      1
   };
   my $err = $@;
   delete $self->{timer};
   _pump ($self) if @{ $self->{queue} };
   $ok ? () : [$err]
}

# _call ($code, ARGS): $code->(ARGS) with $@ undefined, for the reply
# loop in C (xs/task.c), which calls it under an eval of its own (that
# sets $@ to "") with the callback's light frame in place, as
# Callback::Frame::_aef_run would, inside a local $@ = undef as _reply.
sub _call {
   $@ = undef;
   &{+shift};
}

# Deliver an error to the waiting callback: the most recently written
# request's, or the first queued one's. Drops every queued request.
sub _throw_error {
   my ($self, $err, $quiet) = @_;
   $self->{error} = 1;
   my $f = $self->{current} || (@{ $self->{queue} } ? $self->{queue}[0][1] : undef);
   if (!$f) {
      return if $quiet;
      die "_throw_error called but no callback installed. Error thrown was: $err";
   }
   @{ $self->{queue} } = ();
   _raise ($f, $err);
}

# A fatal error found by the event loop: the worker is gone already.
sub _fatal_in_loop {
   my ($self, $err) = @_;
   delete $self->{worker};
   delete $self->{timer};
   $self->{no_timer} = 1;
   $self->{fatal} = $err;
   $self->_throw_error ($err, 1);
}

sub _timed_out {
   my ($self) = @_;
   delete $self->{timer};
   my $client = $self->{client};
   $client->_remove_pending ($self) if $client;

   my @handlers;
   if (my $w = delete $self->{worker}) {
      delete $w->{checkout};
      @handlers = splice @{ $w->{handlers} }; # alive until the error is delivered
      $client ? $client->_discard ($w) : AnyEvent::Task::Client::_close_worker ($w);
   }
   $self->{fatal} = "timed out after $self->{timeout} seconds";
   $client->_serve_pending if $client;
   $self->_throw_error ($self->{fatal}, 1);
}

sub throw_fatal_error {
   my ($self, $msg) = @_;
   $self->{fatal} = $msg;
   my $client = $self->{client};
   $client->_remove_pending ($self) if $client && !$self->{worker};
   $self->_throw_error ($msg);
}

sub DESTROY {
   my ($self) = @_;
   return if $IN_GLOBAL_DESTRUCTION;
   local ($@, $!);
   my $client = $self->{client};
   $client->_remove_pending ($self) if $client && $self->{waiting};

   if (my $w = delete $self->{worker}) {
      delete $w->{checkout};
      if (defined $self->{fatal}
          || ($self->{error} && $client && !$client->{dont_refork_after_error})) {
         $client ? $client->_discard ($w) : AnyEvent::Task::Client::_close_worker ($w);
      } else {
         AnyEvent::Task::Client::_write ($w, '["dn",{}]', 1);
         $client->_release_worker ($w) if $client;
      }
   }
   %$self = ();
}

1

__END__

=head1 NAME

AnyEvent::Task::Client::Checkout - an exclusive lease on one AnyEvent::Task worker

=head1 SYNOPSIS

   my $checkout = $client->checkout (timeout => 10);

   # method form: the method name goes first
   $checkout->add (1, 2, sub {
      my ($checkout, $sum) = @_;
   });

   # coderef form: only the arguments
   $checkout->('some', 'args', sub { ... });

   # give up on it
   $checkout->throw_fatal_error ("user went away");

=head1 DESCRIPTION

A checkout is created by L<AnyEvent::Task::Client/checkout>. Calls on it
go to one worker, in order; answers come back in order. The last argument
of every call is the callback; it receives the checkout and the result.
Callbacks never run from inside the call, only from the event loop.

Calls made before a worker is available wait; once it is bound they are
sent one after the other as answers come back. Calls made while a worker
is bound are sent at once (several may be outstanding).

The checkout is released when the last reference to it goes - but not
while a call is waiting or in flight: the pending callbacks keep it alive,
so C<< $client->checkout->foo (sub { ... }) >> works without a variable.
On release the worker runs C<checkout_done> and returns to the pool.

=head1 ERRORS

Every error is raised inside the callback that was waiting, as if its code
had died: a L<Callback::Frame> catch handler around the call (or the
callback's own, if it is a frame) gets it in C<$@>, with a trace naming
C<CLIENT -E<gt> METHOD>. Without a handler the error goes to the event loop
(EV prints and ignores it; the pure-Perl loop lets it escape from C<recv>).

=over

=item the worker's own errors

The interface died: its text (or its data, for an unblessed reference).
The rest of the queued calls are dropped; calls already sent still
complete; later calls work. By default the worker is replaced on release.

=item C<timed out after N seconds>

The checkout's timer fired: it covers waiting for a worker and the call in
flight, and is reset after each answer (a call made from a callback runs
without one). The worker is killed.

=item C<worker connection suddenly died>

The worker died (killed, crashed, hung-worker alarm) or sent something
unreadable.

=item the message of C<throw_fatal_error>

=back

The last three are fatal: every later call on the checkout fails at once
with the same error, and the worker is not reused.

=head1 METHODS

=over

=item $checkout->METHOD (@args, $cb)

Any method name not listed here is sent to the worker as C<[METHOD,
@args]>. Returns nothing. Arguments must be JSON data: anything else (an
object, for example) dies at the call with the JSON encoder's message. A
last argument that is not a code reference dies at once; C<undef> dies
with C<value missing for key code>.

=item $checkout->(@args, $cb)

The same without a method name.

=item $checkout->throw_fatal_error ($message)

Fails the waiting callback with C<$message> and every later call too. With
nothing waiting it dies with C<_throw_error called but no callback
installed. Error thrown was: MESSAGE> (the error is still recorded).

=back

C<can>, C<isa>, C<DOES>, C<VERSION>, C<import> and C<unimport> keep their
usual meaning and are not sent. C<< CLASS->METHOD >> dies with C<CLASS is
not an object>.

=head1 DIFFERENCES FROM THE ORIGINAL

=over

=item * the frame functions (C<frame>, C<fub>, ...) are not imported into
this class, so C<< $checkout->frame (...) >> is a remote call like any
other;

=item * C<\&$checkout> returns the same code reference for as long as a
call made through it is in flight or the caller keeps it (the original
made a new closure each time); like that closure, it keeps the checkout
alive while it is held. It is written in C, and so is the common case of
a call through it (a plain code reference as the callback, on a checkout
bound to its worker with nothing queued), and the common case of a reply
(a success for such a call); the bytes written, the frames and the
errors are the same;

=item * a callback receives a copy of the checkout: assigning to its
C<$_[0]> no longer disturbs the checkout's handling of the reply;

=item * a worker's error is raised in the failing call's own frame;

=item * after a timeout, later calls fail at once instead of after another
timeout;

=item * a call whose last argument is not a code reference dies at once
instead of sending a request with no usable callback; an unencodable
argument leaves the checkout untouched;

=item * errors found by the event loop with no callback waiting (a held
checkout's worker dies, or its timer fires) are recorded for later calls
instead of raising C<_throw_error called but no callback installed> in the
loop; a checkout aborted with C<throw_fatal_error> before it got a worker
no longer takes one.

=back

=cut
