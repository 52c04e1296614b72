package AnyEvent::Task::Client::Checkout;

use strict;
use warnings;

our $VERSION = '0.805';

use Scalar::Util ();
use AnyEvent::Task::Companion ();
use Callback::Frame ();

use overload
   '&{}' => sub {
      my $self = shift;
      sub { $self->_queue_request (undef, @_) }
   },
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
      queue   => [],   # [bytes, callback, log label] not written yet
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
   $self->_queue_request ($name, @_);
}

sub _queue_request {
   my ($self, $method, @args) = @_;
   my @req = defined $method ? ($method, @args) : @args;
   my $cb = pop @req;

   die "the last argument of a call must be a callback (a code reference)"
      if defined $cb && !(ref $cb && (ref $cb eq 'CODE' || overload::Method ($cb, '&{}')));

   unless (Callback::Frame::is_frame ($cb)) {
      my $client = $self->{client};
      my $cname = $client && defined $client->{name} ? $client->{name} : undef;
      my @name = defined $cname ? (name => "$cname -> " . (defined $method ? $method : "NO METHOD"))
               : defined $method ? (name => "ANONYMOUS CLIENT -> $method")
               : ();
      $cb = Callback::Frame::frame (@name, code => $cb);
   }

   my $bytes = $AnyEvent::Task::Client::JSON->encode (["do", {}, @req]);

   push @{ $self->{queue} }, [$bytes, $cb, defined $method ? $method : "->()"];
   $self->_arm;
   $self->_pump;
   return;
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

   my $req = shift @{ $self->{queue} };
   my ($bytes, $cb, $label) = @$req;
   $self->{current} = $cb;
   Scalar::Util::weaken ($self->{current});

   return $self->_throw_error ($self->{fatal}) if defined $self->{fatal};

   $self->_arm;
   my $log = $self->{log};
   my $guard = $log ? $log->timer ($label) : undef;

   push @{ $w->{handlers} }, sub {
      my ($kind, $meta, $val) = @{ $_[0] };
      undef $guard;
      $log->merge ($meta->{ld}) if $log && ref $meta eq 'HASH' && ref $meta->{ld} eq 'HASH';

      my $ok = eval {
         if ($kind eq 'ok') {
            local $@ = undef;
            $cb->($self, $val);
         } elsif ($kind eq 'er') {
            $self->{error} = 1;
            @{ $self->{queue} } = ();
            Callback::Frame::frame (existing_frame => $cb, code => sub { die $val })->();
         } else {
            die "Unrecognized response_code: $kind";
         }
         1
      };
      my $err = $@;
      delete $self->{timer};
      $self->_pump;
      die $err unless $ok;
   };
   AnyEvent::Task::Client::_write ($w, $bytes);
}

# Deliver an error to the waiting callback: the most recently written
# request's, or the first queued one's. Drops every queued request.
sub _throw_error {
   my ($self, $err, $quiet) = @_;
   $self->{error} = 1;
   my $cb = $self->{current} || (@{ $self->{queue} } ? $self->{queue}[0][1] : undef);
   if (!$cb) {
      return if $quiet;
      die "_throw_error called but no callback installed. Error thrown was: $err";
   }
   @{ $self->{queue} } = ();
   Callback::Frame::frame (existing_frame => $cb, code => sub { die $err })->();
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
   $client->_remove_pending ($self) if $client;

   if (my $w = delete $self->{worker}) {
      delete $w->{checkout};
      if (defined $self->{fatal}
          || ($self->{error} && $client && !$client->{dont_refork_after_error})) {
         $client ? $client->_discard ($w) : AnyEvent::Task::Client::_close_worker ($w);
      } else {
         AnyEvent::Task::Client::_write ($w, '["dn",{}]');
         $client->_release_worker ($w) if $client;
      }
   }
   %$self = ();
}

1
