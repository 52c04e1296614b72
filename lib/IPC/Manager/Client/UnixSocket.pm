package IPC::Manager::Client::UnixSocket;

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EINTR EAGAIN EWOULDBLOCK ECONNREFUSED ENOTCONN ENOENT);
use Socket qw(AF_UNIX SOCK_DGRAM SOL_SOCKET SO_SNDBUF pack_sockaddr_un);
use IPC::Manager::Client ();
use IPC::Manager::Core ();
our @ISA = ('IPC::Manager::Client');

our $VERSION = '0.000038';

sub path_type    { 'UNIX Socket' }
sub _path_budget { 107 }               # sun_path without its NUL
sub _entry_ok    { -S $_[1] }

sub _nonblock {
   my ($fh) = @_;
   my $fl = fcntl ($fh, Fcntl::F_GETFL (), 0) or return;
   fcntl ($fh, Fcntl::F_SETFL (), $fl | Fcntl::O_NONBLOCK ());
}

# the reader socket, unbound; a client prepared before a fork makes it then
sub _reader {
   socket (my $s, AF_UNIX, SOCK_DGRAM, 0) or croak "Cannot create reader socket: $!";
   _nonblock ($s);
   return $s;
}

sub _prepare_entry { $_[0]->{_unbound} = _reader () }

# registered in one step (see IPC::Manager::Client::_register_args): the
# prepared socket, bound
sub _entry_kind   { $_[0]->{_unbound} ? 'dgram' : undef }
sub _adopt_entry  { $_[0]->{_sock} = delete $_[0]->{_unbound} }

sub _make_entry {
   my ($self, $path) = @_;
   my $s = delete $self->{_unbound} || _reader ();
   bind ($s, pack_sockaddr_un ($path))    or croak "Cannot create reader socket: $!";
   $self->{_sock} = $s;
   return;
}

sub _open_entry {
   my ($self, $path) = @_;
   unlink $path;
   $self->_make_entry ($path);
}

sub have_handles_for_select { $_[0]->{_sock} ? 1 : 0 }
sub handles_for_select      { $_[0]->{_sock} ? ($_[0]->{_sock}) : () }

sub ready_messages {
   my $self = shift;
   return 1 if $self->_buffered;
   my $s = $self->{_sock} or return 0;
   my $rin = '';
   vec ($rin, fileno $s, 1) = 1;
   return select ($rin, undef, undef, 0) > 0 ? 1 : 0;
}

sub _read_messages {
   my $self = shift;
   my $s = $self->{_sock} or return ();
   my ($json, @out) = ($self->{_json});
   for my $raw (IPC::Manager::Core::dgram_recv_all ($s)) {
      if (!defined $raw) { warn "UnixSocket: dropped a datagram too large to receive\n"; next }
      # (_decode; its usual case inline: no method call, no eval)
      my ($m) = $json ? IPC::Manager::Core::msg_decode ($raw) : ();
      $m ||= eval { $self->_decode ($raw) };
      if ($m) { push @out, $m } else { warn "UnixSocket: malformed message: $@" }
   }
   return @out;
}

# a connected datagram socket per destination, cached
sub _out_sock {
   my ($self, $peer, $path) = @_;
   my $c = $self->{_out}{$peer};
   return $c if $c && $c->[1] eq $path;
   socket (my $s, AF_UNIX, SOCK_DGRAM, 0) or croak "Cannot connect to socket: $!";
   # datagrams as large as the kernel lets us send (it caps the value)
   setsockopt ($s, SOL_SOCKET, SO_SNDBUF, pack ("i", 4 << 20));
   connect ($s, pack_sockaddr_un ($path)) or croak "Cannot connect to socket: $!";
   _nonblock ($s);
   return $self->{_out}{$peer} = [$s, $path];
}

# 1 sent, 0 would block; dies on errors. A cached socket is tried first:
# the peer's entry is looked up only when there is none or it failed.
sub _send_raw {
   my ($self, $peer, $data) = @_;
   my $retry = 1;
   my $c = $self->{_out}{$peer};
   while (1) {
      if (!$c) {
         my $path = $self->peer_exists ($peer);
         croak "'$peer' is not a valid message recipient" unless defined $path;
         $c = $self->_out_sock ($peer, $path);
      }
      my $n = send ($c->[0], $data, 0);
      return 1 if defined $n;
      my $errno = $! + 0;
      next if $errno == EINTR;
      return 0 if $errno == EAGAIN || $errno == EWOULDBLOCK;
      my $err = "$!";
      delete $self->{_out}{$peer};
      undef $c;
      # a stale cached socket (the peer re-registered): look it up again
      next if $retry-- && ($errno == ECONNREFUSED || $errno == ENOTCONN || $errno == ENOENT);
      croak "Cannot send message: $err";
   }
}

# (see IPC::Manager::Client::_send_message) the cached socket to the
# peer, or undef when there is none yet (the peer is looked up then)
sub _target {
   my ($self, $peer) = @_;
   return $self->{_out}{$peer} if defined $peer && $self->{_out}{$peer};
   croak "No peer specified" unless defined $peer;
   croak "'$peer' is not a valid message recipient" unless defined $self->peer_exists ($peer);
   return undef;
}

sub _deliver {
   my ($self, $peer, $c, $id, $data) = @_;
   # the usual case: a cached socket, nothing queued, and it takes it
   return if $c && !($self->{_queue} && $self->{_queue}{$peer}) && defined send ($c->[0], $data, 0);
   if (!$self->{send_blocking}) {
      my $q = $self->{_queue}{$peer};
      if ($q && @$q) { push @$q, $data; $self->drain_pending; return }
      return if $self->_send_raw ($peer, $data);
      push @{ $self->{_queue}{$peer} }, $data;
      return;
   }
   # the peer's queue is full: wait until it takes more, and meanwhile
   # take in what arrives for us (kept for get_messages), so that a peer
   # answering what we sent never waits for us to read
   my $s = $self->{_sock};
   until ($self->_send_raw ($peer, $data)) {
      my ($rin, $win) = ('', '');
      vec ($win, fileno $self->{_out}{$peer}[0], 1) = 1;
      vec ($rin, fileno $s, 1) = 1 if $s;
      select ($rin, $win, undef, 0.05) > 0 or next;
      push @{ $self->{_inbox} }, $self->_read_messages if $s && vec ($rin, fileno $s, 1);
   }
   return;
}

sub drain_pending {
   my $self = shift;
   my $sent = 0;
   for my $peer (keys %{ $self->{_queue} || {} }) {
      my $q = $self->{_queue}{$peer};
      while (@$q) {
         my $ok = eval { $self->_send_raw ($peer, $q->[0]) };
         if (!defined $ok) {
            warn "UnixSocket: send to '$peer' failed during drain: $@";
            @$q = ();
            last;
         }
         last unless $ok;
         shift @$q;
         $sent++;
      }
      delete $self->{_queue}{$peer} unless @$q;
   }
   return $sent;
}

sub have_pending_sends { scalar (grep @$_, values %{ $_[0]->{_queue} || {} }) ? 1 : 0 }
sub pending_sends      { map @$_, values %{ $_[0]->{_queue} || {} } }
sub pending_sends_to   { @{ $_[0]->{_queue}{ $_[1] } || [] } }
sub have_writable_handles { $_[0]->have_pending_sends }
sub writable_handles {
   my $self = shift;
   return map { $self->{_out}{$_} ? ($self->{_out}{$_}[0]) : () }
          grep @{ $self->{_queue}{$_} }, keys %{ $self->{_queue} || {} };
}
sub can_send_to {
   my ($self, $peer) = @_;
   return 0 unless defined $self->peer_exists ($peer);
   return $self->{_queue}{$peer} && @{ $self->{_queue}{$peer} } ? 0 : 1;
}

sub _pre_disconnect {
   my $self = shift;
   unlink $self->path or warn "Could not unlink socket: $!";
   return;
}

sub _post_disconnect {
   my $self = shift;
   $self->drain_pending if $self->have_pending_sends;
   delete $self->{_sock};
   delete $self->{_out};
   delete $self->{_queue};
   return;
}

1;
__END__

=head1 NAME

IPC::Manager::Client::UnixSocket - bus protocol: one datagram per message

=head1 DESCRIPTION

Each client binds an AF_UNIX datagram socket at C<ROUTE/NAME>; a message
is one datagram holding the serialized message. Datagrams are received
whole whatever their size (the receive buffer is sized from what the
kernel queued); with the default serializer the usual messages are
decoded in C, exactly as Cpanel::JSON::XS decodes them, and the others by
Cpanel::JSON::XS (as ConnectionUnix reads its frames); a message larger than the kernel lets a socket send fails
with C<Cannot send message: Message too long>. Sockets to destinations are
cached. Inside a service, a destination whose queue is full gets its
messages queued and sent when it becomes writable; the loop never blocks
on it. Outside a service a send waits for such a destination, and takes
in the messages that arrive meanwhile (the next C<get_messages> returns
them): two clients sending to each other never wait for each other
forever, and the answers to pipelined requests flow while they are sent.

Errors: C<'NAME' is not a valid message recipient>, C<No peer specified>,
C<Cannot create reader socket: ...>, C<Cannot connect to socket: ...>,
C<Cannot send message: ...>, C<suspend is not supported by the UnixSocket
driver>; warnings C<Could not unlink socket: ...>, C<UnixSocket: malformed
message: ...>.

=cut
