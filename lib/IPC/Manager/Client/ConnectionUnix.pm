package IPC::Manager::Client::ConnectionUnix;

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EINTR EAGAIN EWOULDBLOCK ECONNREFUSED);
use Fcntl ();
use Time::HiRes ();
use Socket qw(AF_UNIX SOCK_STREAM SOMAXCONN pack_sockaddr_un);
use IPC::Manager::Client ();
use IPC::Manager::Core ();
our @ISA = ('IPC::Manager::Client');

our $VERSION = '0.000038';

# send flag that turns SIGPIPE into EPIPE, where the system has one
use constant NOSIGNAL => eval { Socket::MSG_NOSIGNAL () } || 0;

sub path_type    { 'UNIX Socket or marker file' }
sub _path_budget { 107 }
sub _entry_ok    { -S $_[1] || -f $_[1] }

sub have_dynamic_handles_for_select { 1 }

sub _make_entry {
   my ($self, $path) = @_;
   if (exists $self->{listen} && !$self->{listen}) {
      sysopen (my $fh, $path, Fcntl::O_WRONLY () | Fcntl::O_CREAT () | Fcntl::O_EXCL (), 0600)
         or croak "Cannot create marker file '$path': $!";
      return;
   }
   my $s = delete $self->{_unbound};
   if (!$s) {
      socket ($s, AF_UNIX, SOCK_STREAM, 0)    or croak "Cannot create listen socket '$path': $!";
      IPC::Manager::Client::UnixSocket::_nonblock ($s);
   }
   bind ($s, pack_sockaddr_un ($path))        or croak "Cannot create listen socket '$path': $!";
   listen ($s, SOMAXCONN)                     or croak "Cannot create listen socket '$path': $!";
   $self->{_listen} = $s;
   delete $self->{_select_bits};
   return;
}

# the listen socket, unbound: a client prepared before a fork makes it then
sub _prepare_entry {
   my $self = shift;
   return if exists $self->{listen} && !$self->{listen};
   socket (my $s, AF_UNIX, SOCK_STREAM, 0) or croak "Cannot create listen socket: $!";
   IPC::Manager::Client::UnixSocket::_nonblock ($s);
   $self->{_unbound} = $s;
   return;
}

# registered in one step (see IPC::Manager::Client::_register_args): the
# prepared socket, bound and listening (not a marker file)
sub _entry_kind   { $_[0]->{_unbound} ? 'stream' : undef }
sub _adopt_entry  { delete $_[0]->{_select_bits}; $_[0]->{_listen} = delete $_[0]->{_unbound} }

sub _open_entry {
   my ($self, $path) = @_;
   unlink $path;
   $self->_make_entry ($path);
}

# the connections, accepted and made: always an array, read directly
sub init {
   my $self = shift;
   $self->{_conns} = [];
   return $self->SUPER::init (@_);
}

sub have_handles_for_select { 1 }
sub handles_for_select {
   my $self = shift;
   return (($self->{_listen} ? ($self->{_listen}) : ()), map $_->{fh}, @{ $self->{_conns} });
}

# the select bits of handles_for_select, kept in {_select_bits} (where a
# handle's wait reads them) until a connection comes or goes
sub _select_bits {
   my $self = shift;
   return defined $self->{_select_bits} ? $self->{_select_bits} : ($self->{_select_bits} = $self->SUPER::_select_bits);
}

sub ready_messages {
   my $self = shift;
   return 1 if $self->_buffered;
   my @fh = $self->handles_for_select or return 0;
   my $rin = '';
   vec ($rin, fileno $_, 1) = 1 for @fh;
   return select ($rin, undef, undef, 0) > 0 ? 1 : 0;
}

sub _drop {
   my ($self, $conn) = @_;
   $self->{_conns} = [ grep $_ != $conn, @{ $self->{_conns} } ];
   delete $self->{_select_bits};
   my $peer = $conn->{peer};
   delete $self->{_by_peer}{$peer}
      if defined $peer && $self->{_by_peer}{$peer} && $self->{_by_peer}{$peer} == $conn;
   close $conn->{fh};
   return;
}

sub _add_conn {
   my ($self, $fh, $peer) = @_;
   IPC::Manager::Client::UnixSocket::_nonblock ($fh);
   my $conn = { fh => $fh, in => '', out => '', peer => $peer };
   push @{ $self->{_conns} }, $conn;
   delete $self->{_select_bits};
   $self->{_by_peer}{$peer} = $conn if defined $peer;
   return $conn;
}

sub _read_messages {
   my $self = shift;
   # what select found readable, when the caller tells (a bit string as
   # select returns it): only those connections are read (and new ones),
   # and the listener is only accepted from when it is among them
   my $ready = delete $self->{_rready};
   my %new;
   if (my $l = $self->{_listen}) {
      if (!defined $ready || vec ($ready, fileno $l, 1)) {
         while (accept (my $c, $l)) { $new{ $self->_add_conn ($c, undef) } = 1 }
      }
   }
   my @out;
   for my $conn (@{ $self->{_conns} }) {
      next if defined $ready && !vec ($ready, fileno $conn->{fh}, 1) && !$new{$conn};
      my $eof = 0;
      while (1) {
         my $n = sysread ($conn->{fh}, $conn->{in}, 65536, length $conn->{in});
         if (!defined $n) { next if $! == EINTR; $eof = 1 unless $! == EAGAIN || $! == EWOULDBLOCK; last }
         if (!$n) { $eof = 1; last }
         # a short read took what was queued: the loop comes back for more
         last if $n < 65536;
      }
      # (the usual frames, messages from a known peer in the default
      # serializer's simple JSON, come decoded by the C core, as messages;
      # the others come as their bytes, for the loop below)
      my @frames = IPC::Manager::Core::frames ($conn->{in}, defined $conn->{peer} && $self->{_json} ? 1 : 0);
      my $bad = @frames && !defined $frames[-1] ? pop @frames : 1;
      for my $raw (@frames) {
         if (ref $raw) { push @out, $raw; next }
         if (!defined $conn->{peer}) {
            my $h = eval { $self->{serializer}->deserialize ($raw) };
            if (!$h) { warn "ConnectionUnix: malformed hello frame: $@"; $eof = 1; last }
            if (ref $h ne 'HASH' || !defined $h->{hello} || !length $h->{hello}) {
               warn "ConnectionUnix: hello frame missing peer id\n"; $eof = 1; last;
            }
            $conn->{peer} = $h->{hello};
            $self->{_by_peer}{ $h->{hello} } = $conn;
            next;
         }
         my $m = eval {
            my $h = $self->{_json} ? $self->{_json}->decode ($raw) : $self->{serializer}->deserialize ($raw);
            (ref $h eq 'HASH' && keys (%$h) == 1 && exists $h->{hello}) ? undef : IPC::Manager::Message::_received ($h);
         };
         if ($m) { push @out, $m }
         elsif ($@) { warn "ConnectionUnix: malformed frame from '$conn->{peer}': $@" }
      }
      if (!defined $bad) {
         my $who = defined $conn->{peer} ? $conn->{peer} : '?';
         warn "ConnectionUnix: malformed frame from '$who': frame too large\n";
         $eof = 1;
      }
      $self->_drop ($conn) if $eof;
   }
   return @out;
}

# writes what the socket takes now of the connection's buffer: 1 when it
# is empty, 0 when the socket is full, undef (and $!) on a hard error
sub _flush {
   my ($self, $conn) = @_;
   # a vanished reader is an error, not SIGPIPE
   local $SIG{PIPE} = 'IGNORE' unless NOSIGNAL;
   while (length $conn->{out}) {
      my $n = send ($conn->{fh}, $conn->{out}, NOSIGNAL);
      if (!defined $n) {
         next if $! == EINTR;
         return $! == EAGAIN || $! == EWOULDBLOCK ? 0 : undef;
      }
      # (the usual case: the socket takes it all at once)
      if ($n == length $conn->{out}) { $conn->{out} = ''; last }
      substr ($conn->{out}, 0, $n) = '';
   }
   return 1;
}

sub _conn_for {
   my ($self, $peer) = @_;
   my $conn = $self->{_by_peer}{$peer};
   return $conn if $conn;
   my $path = $self->peer_exists ($peer);
   die "'$peer' is not a valid message recipient\n" unless defined $path;
   die "no active connection to '$peer' and peer is not listening\n" if -f $path;
   die "'$peer' is not listening\n" unless -S $path;
   my $s = _connect_to ($path);
   $conn = $self->_add_conn ($s, $peer);
   $conn->{out} = IPC::Manager::Core::frame ($self->{serializer}->serialize ({ hello => $self->{id} }));
   return $conn;
}

# Seconds a connection is tried again while its peer registers (see
# _connect_to)
our $REGISTERING = 2;

# a socket connected to the listening socket at $path (dies with the
# reason). A peer registers by binding its socket, listening on it and
# then writing its pidfile: a connection refused while there is no pidfile
# met a peer between the first two steps, and is tried again until it
# listens (at most $REGISTERING seconds)
sub _connect_to {
   my ($path) = @_;
   my $until;
   while () {
      socket (my $s, AF_UNIX, SOCK_STREAM, 0) or die "Cannot connect to '$path': $!\n";
      return $s if connect ($s, pack_sockaddr_un ($path));
      my ($err, $refused) = ($!, $! == ECONNREFUSED);
      my $now = Time::HiRes::time ();
      $until = $now + $REGISTERING unless defined $until;
      die "Cannot connect to '$path': $err\n"
         unless $refused && $now < $until && !-e "$path.pid";
      Time::HiRes::sleep (0.001);
   }
}

# (see IPC::Manager::Client::_send_message) the connection to the peer,
# made when there is none
sub _target {
   my ($self, $peer) = @_;
   return (defined $peer && $self->{_by_peer}{$peer}) || $self->_connect ($peer);
}

# a new connection to $peer (croaks when there can be none)
sub _connect {
   my ($self, $peer) = @_;
   croak "No peer specified" unless defined $peer;
   my $conn = eval { $self->_conn_for ($peer) };
   if (!$conn) { my $e = $@; $e =~ s/\n\z//; croak $e }
   return $conn;
}

sub _deliver {
   my ($self, $peer, $conn, $id, $data) = @_;
   $conn->{out} .= IPC::Manager::Core::frame ($data);
   $self->_push ($conn);
   return;
}

# send_message ($to, $content) for requests and responses (see
# IPC::Manager::Client::_send_quick, also for $request_id): with the
# default serializer the frame is written straight into the connection's
# buffer
sub _send_quick {
   my ($self, $to, $content, $rid, $resp) = @_;
   my $json = $self->{_json} or return $self->SUPER::_send_quick ($to, $content, $rid, $resp);
   croak "Client used from wrong PID" unless $self->{pid} == IPC::Manager::Core::pid ();
   # (_target's lookup)
   my $conn = (defined $to && $self->{_by_peer}{$to}) || $self->_connect ($to);
   my $queued = length $conn->{out};
   # (_quick_text's usual case: the recipient's JSON known, the content
   # simple; a request's or response's content written without its hash,
   # as _quick_mode says)
   my $tj = $self->{_to_json}{$to};
   defined $tj && defined IPC::Manager::Core::msg_put ($conn->{out}, 1, $self->{_from_json}, $tj, $content,
                                                      defined $rid ? ($resp ? 3 : 2) : 1, $rid)
      or $self->_quick_text ($conn->{out}, 1, $json, $to, $content, $rid, $resp);
   if ($self->{send_blocking}) {
      # (the usual case: nothing queued, and the socket takes it all at
      # once; what is left, and an error, go to _push)
      if (NOSIGNAL && !$queued) {
         my $n = send ($conn->{fh}, $conn->{out}, NOSIGNAL);
         if (defined $n) {
            if ($n == length $conn->{out}) { $conn->{out} = '' }
            else { substr ($conn->{out}, 0, $n) = '' }
         }
      }
      $self->_push ($conn) if length $conn->{out};
   }
   # (what _push does for a service's client: held back during a batch)
   elsif (!$self->{_hold}) {
      $self->_flush_or_drop ($conn);
   }
   $self->{stats}{sent}{$to}++;
   return;
}

# what the connection's buffer holds, sent as the client sends: written
# now, queued (a service's client) or waited for (a blocking client)
sub _push {
   my ($self, $conn) = @_;
   # (the usual case: a blocking client whose socket takes it all)
   my $done = $self->{send_blocking} && $self->_flush ($conn);
   return if $done;
   if (!$self->{send_blocking}) {
      # held back while a service dispatches a batch (see _flush_held)
      $self->_flush_or_drop ($conn) unless $self->{_hold};
      return;
   }
   # while the connection is full, take in what arrives (kept for
   # get_messages), so that a peer answering what we sent never waits for
   # us to read
   while (1) {
      if (!defined $done) { my $e = "write failed: $!"; $self->_drop ($conn); croak $e }
      last if $done;
      my ($rin, $win) = ('', '');
      vec ($win, fileno $conn->{fh}, 1) = 1;
      vec ($rin, fileno $_, 1) = 1 for $self->handles_for_select;
      my $n = select ($rin, $win, undef, 0.05);
      next unless $n > 0 && $rin =~ /[^\0]/;
      $self->{_rready} = $rin;
      push @{ $self->{_inbox} }, $self->_read_messages;
   }
   continue {
      $done = $self->_flush ($conn);
   }
   return;
}

# writes what the socket takes; a connection whose write fails is reported
# ($when: ' during drain' or nothing, for the warning) and dropped
sub _flush_or_drop {
   my ($self, $conn, $when) = @_;
   return if defined $self->_flush ($conn);
   my $who = defined $conn->{peer} ? $conn->{peer} : '?';
   warn "ConnectionUnix: send to '$who' failed" . (defined $when ? $when : '') . ": write failed: $!\n";
   $self->_drop ($conn);
   return;
}

# the sends held back during a service's batch: one write per connection
sub _flush_held {
   my $self = shift;
   $self->_flush_or_drop ($_) for grep length $_->{out}, @{ $self->{_conns} };
   return;
}

sub drain_pending {
   my $self = shift;
   $self->_flush_or_drop ($_, ' during drain') for grep length $_->{out}, @{ $self->{_conns} };
   return;
}

sub have_pending_sends    { (grep length $_->{out}, @{ $_[0]->{_conns} }) ? 1 : 0 }
sub pending_sends         { map $_->{out}, grep length $_->{out}, @{ $_[0]->{_conns} } }
sub pending_sends_to      { my $c = $_[0]->{_by_peer}{ $_[1] }; ($c && length $c->{out}) ? ($c->{out}) : () }
sub have_writable_handles { $_[0]->have_pending_sends }
sub writable_handles      { map $_->{fh}, grep length $_->{out}, @{ $_[0]->{_conns} } }
sub can_send_to {
   my ($self, $peer) = @_;
   my $c = $self->{_by_peer}{$peer};
   return $c ? (length $c->{out} ? 0 : 1) : (defined $self->peer_exists ($peer) ? 1 : 0);
}

sub _pre_disconnect {
   my $self = shift;
   my $path = $self->path;
   unlink $path or warn "Could not unlink '$path': $!";
   return;
}

sub _post_disconnect {
   my $self = shift;
   my $deadline = time + 5;
   while ($self->have_pending_sends && time < $deadline) {
      $self->drain_pending;
      my @w = $self->writable_handles or last;
      my $win = '';
      vec ($win, fileno $_, 1) = 1 for @w;
      select (undef, $win, undef, 0.05);
   }
   close $_->{fh} for @{ $self->{_conns} };
   $self->{_conns} = [];
   delete @$self{qw(_by_peer _select_bits)};
   delete $self->{_listen};
   return;
}

require IPC::Manager::Client::UnixSocket;

1;
__END__

=head1 NAME

IPC::Manager::Client::ConnectionUnix - bus protocol: length-framed messages over stream connections

=head1 DESCRIPTION

Each client listens on an AF_UNIX stream socket at C<ROUTE/NAME> (or, with
C<< listen => 0 >>, leaves an empty marker file: it can only send). A
sender connects once, introduces itself with a C<< {hello => ID} >> frame,
and then sends frames of a 4-byte big-endian length followed by the
serialized message; replies travel back over the same connection. The
frame decoder is in the C core, and so is, with the default serializer,
the JSON decoder of the usual messages (strings, integers, decimal
fractions, null, true, false, plain objects and arrays): they come out
exactly as Cpanel::JSON::XS makes them, already blessed as messages, and
everything else (other numbers, unusual escapes, deep nesting, malformed
text) is decoded by Cpanel::JSON::XS, which also reports the errors. A
malformed hello or frame is warned about (C<ConnectionUnix: malformed
hello frame: ...>, C<ConnectionUnix: hello frame missing peer id>,
C<ConnectionUnix: malformed frame from 'PEER': ...>) and the service goes
on; a frame announcing more than 256 MiB drops
the connection. Inside a service, frames are queued per connection and
written as the socket allows (a batch of answers with one write). Outside
a service a send to a full connection waits, and takes in the messages
that arrive meanwhile (the next C<get_messages> returns them). There is
no automatic reconnect.

A client registers by binding its socket, listening on it, then writing
its pidfile, so for a moment its socket is there but refuses connections.
A sender that is refused while the peer has no pidfile yet tries again
every millisecond until the peer listens, for at most
C<$IPC::Manager::Client::ConnectionUnix::REGISTERING> seconds (default 2);
then, or at once when the pidfile is there (a peer gone without cleaning
up), it fails with C<Cannot connect to 'PATH': Connection refused>. The
original failed at once, so a message sent to a peer that had just
appeared could fail.

Errors: C<'PEER' is not a valid message recipient>, C<'PEER' is not
listening>, C<no active connection to 'PEER' and peer is not listening>,
C<Cannot connect to 'PATH': ...>, C<write failed: ...>, C<Cannot create
listen socket 'PATH': ...>, C<Cannot create marker file 'PATH': ...>,
C<suspend is not supported by the ConnectionUnix driver>; warnings
C<ConnectionUnix: send to 'PEER' failed: ...>, C<... failed during drain:
...>, C<Could not unlink 'PATH': ...>.

=cut
