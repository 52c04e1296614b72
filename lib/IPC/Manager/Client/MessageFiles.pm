package IPC::Manager::Client::MessageFiles;

use strict;
use warnings;

use Carp qw(croak confess);
use File::Path ();
use Fcntl ();
use Errno qw(EEXIST);
use IPC::Manager::Client ();
use IPC::Manager::Core ();
our @ISA = ('IPC::Manager::Client');

our $VERSION = '0.000038';

sub path_type         { 'subdir' }
sub _path_budget      { 4000 }
sub _entry_ok         { -d $_[1] }
sub suspend_supported { 1 }

sub _dir { $_[0]->{_dir} || $_[0]->path }

sub _make_entry {
   my ($self, $path) = @_;
   mkdir $path or croak "Could not make dir '$path': $!";
   $self->_open_entry ($path);
}

# registered in one step (see IPC::Manager::Client::_register_args): the
# folder and its watch (descriptor $wfd, -1: none); the spares come
# afterwards
sub _entry_kind  { 'dir' }
sub _adopt_entry {
   my ($self, $path, $wfd) = @_;
   my $watch;
   undef $watch if defined $wfd && $wfd >= 0 && !open $watch, "<&=", $wfd;
   $self->_open_entry ($path, $watch);
}

# messages taken are kept (as they are) in the hidden folder NAME/.spare, at
# most this many, and reused for the messages this client sends: see
# _read_messages
our $SPARES = 2048;

sub _open_entry {
   my ($self, $path, $watch) = @_;
   # (the folder read: this one until _pre_disconnect hides it)
   $self->{_dir} = $path;
   $self->{_watch} = $watch || IPC::Manager::Core::watch ($path, 0) if $watch || IPC::Manager::Core::have_inotify ();
   delete $self->{_listed};
   # spares of an earlier incarnation (reconnect) may be half written: dropped
   my $spare = "$path/.spare";
   File::Path::rmtree ($spare) if -d $spare;
   ($self->{_spares}, $self->{_spare_dir}) = ([], $spare) if mkdir $spare;
   return;
}

sub have_handles_for_select { $_[0]->{_watch} ? 1 : 0 }
sub handles_for_select      { $_[0]->{_watch} ? ($_[0]->{_watch}) : () }

sub _list {
   my ($self, $ext) = @_;
   opendir my $dh, $self->_dir or return ();
   my @f = sort grep /\.\Q$ext\E\z/, readdir $dh;
   return @f;
}

sub pending_messages { my @f = $_[0]->_list ('pend');  @f ? 1 : 0 }
sub ready_messages   { return 1 if $_[0]->_buffered; my @f = $_[0]->_list ('ready'); @f ? 1 : 0 }

# messages taken while sending (see _deliver) count as received
sub _buffered { ($_[0]->{_early} && @{ $_[0]->{_early} }) || ($_[0]->{_inbox} && @{ $_[0]->{_inbox} }) ? 1 : 0 }

sub _read_messages {
   my $self = shift;
   # every .ready file, in name order, read and removed (in the C core);
   # up to $SPARES of them are kept as spares instead: a message this
   # client sends is then written into one and renamed to PEER/ID.ready
   # (no file created, none removed: on a file system that searches past
   # every recently freed inode to create a file, that is most of a
   # message's cost). With a watch, the files it announced are taken
   # without listing the folder (all of them when it announced none); the
   # first look after connecting lists it (files may predate the watch).
   my ($watch, $spares) = @$self{qw(_watch _spares)};
   my $dir = $self->{_dir} || $self->path;
   my @spare = $spares ? ($self->{_spare_dir}, $spares, $SPARES) : ();
   my @taken;
   if ($watch && $self->{_listed}) {
      @taken = IPC::Manager::Core::files_take_watched ($watch, $dir, '.ready', @spare);
   }
   else {
      IPC::Manager::Core::watch_drain ($watch) if $watch;
      @taken = IPC::Manager::Core::files_take ($dir, '.ready', @spare);
      $self->{_listed} = 1;
   }
   unshift @taken, @{ delete $self->{_early} } if $self->{_early};
   # (@taken holds name, bytes pairs; _decode's usual case inline: no
   # method call, no eval)
   my ($json, @out) = ($self->{_json});
   for (my $i = 1; $i < @taken; $i += 2) {
      my ($m) = $json ? IPC::Manager::Core::msg_decode ($taken[$i]) : ();
      $m ||= eval { $self->_decode ($taken[$i]) };
      if ($m) { push @out, $m } else { warn "MessageFiles: malformed message '$taken[$i - 1]': $@" }
   }
   return @out;
}

# (see IPC::Manager::Client::_send_message) the peer's folder, not looked
# at: a delivery to a folder that is not there fails
sub _target {
   my ($self, $peer) = @_;
   croak "Message has no peer" unless defined $peer;
   return $self->{_paths}{$peer} || $self->path ($peer);
}

# an unknown peer is reported first
sub _encode_failed {
   my ($self, $peer, $err) = @_;
   croak "Client does not exist" unless defined $self->peer_exists ($peer);
   die $err;
}

sub _deliver {
   my ($self, $peer, $dir, $id, $data) = @_;
   # out of spares (a burst of sends): the messages the watch announced
   # meanwhile are taken now (kept raw in _early for the next read, while
   # it holds fewer than $SPARES), and their files become the spares this
   # send and the next ones use, instead of new files. (_early is a flat
   # list of name, bytes pairs: 2 * $SPARES entries are $SPARES messages.)
   my $spares = $self->{_spares};
   push @{ $self->{_early} }, IPC::Manager::Core::files_take_announced ($self->{_watch}, $self->{_dir} || $self->path,
      '.ready', $self->{_spare_dir}, $spares, $SPARES)
      if $spares && !@$spares && $self->{_watch}
         && !($self->{_early} && @{ $self->{_early} } >= 2 * $SPARES);
   # NAME.pend written, then renamed to NAME.ready (never replacing one)
   my $step = ($spares
      ? IPC::Manager::Core::file_put ($dir, $id, $data, $self->{_spare_dir}, $spares)
      : IPC::Manager::Core::file_put ($dir, $id, $data)) or return;
   my $base = "$dir/$id";
   confess "Message file '$base.ready' already exists" if $step == 3 && $! == EEXIST;
   confess "Message file '$base.pend' already exists" if $step == 1 && $! == EEXIST;
   die "Could not write '$base.pend': $!" if $step == 2;
   croak "Client does not exist";
}

# the messages taken early go back into the folder that keeps collecting
# (as they were: same names, same bytes)
sub suspend {
   my $self = shift;
   $self->pid_check;
   my @early = $self->{_early} ? @{ delete $self->{_early} } : ();
   while (@early) {
      my ($f, $raw) = splice @early, 0, 2;
      $f =~ s/\.ready\z//;
      IPC::Manager::Core::file_put ($self->_dir, $f, $raw) == 0
         or warn "MessageFiles: could not put back message '$f': $!";
   }
   return $self->SUPER::suspend (@_);
}

sub _pre_disconnect {
   my $self = shift;
   my $path = $self->path;
   (my $hidden = $path) =~ s{/([^/]+)\z}{/_$1};
   File::Path::rmtree ($hidden) if -d $hidden;
   rename $path, $hidden or croak "Cannot rename directory: $!";
   $self->{_dir} = $hidden;
   # the spares left the bus with the folder; what is left is listed
   delete @$self{qw(_spares _spare_dir _listed)};
   return;
}

sub _post_disconnect {
   my $self = shift;
   delete $self->{_watch};
   File::Path::rmtree ($self->{_dir}) if $self->{_dir};
   return;
}

1;
__END__

=head1 NAME

IPC::Manager::Client::MessageFiles - bus protocol: one file per message

=head1 DESCRIPTION

Each client has a directory C<ROUTE/NAME>. A message is written to
C<ID.pend> in the recipient's directory and renamed to C<ID.ready>; the
recipient reads and removes the C<.ready> files (with the default
serializer the usual messages decoded in C, exactly as Cpanel::JSON::XS
decodes them, the others by Cpanel::JSON::XS, as ConnectionUnix reads its
frames). On Linux an inotify watch
(in the C core) wakes the recipient when a message is renamed in; without
inotify (or with C<IPC_MANAGER_NO_INOTIFY> set) it polls. With the watch,
a client takes the files whose arrival the watch announced (the names come
with its events) without listing its directory; it lists the directory on
its first look after connecting, when the watch announced nothing (a caller
looking on its own) and when the kernel dropped events. This protocol
supports C<suspend>: the directory stays and keeps collecting messages
until C<ipcm_reconnect>. It needs nothing but a file system and is always
viable.

=head2 Recycled message files

On Linux a client does not delete the message files it has read: it
moves them into the hidden folder C<ROUTE/NAME/.spare> (at most
C<$IPC::Manager::Client::MessageFiles::SPARES>, 2048, the rest are
deleted), their contents left in place (a file over 4 KiB is emptied
first). A message it sends is then written over one of these spares (and
the file cut to its length) and renamed straight to
C<ROUTE/PEER/ID.ready> (never replacing one), so
in a conversation the same few files travel back and forth and no file is
created or deleted per message. Readers see exactly what they saw before:
a complete C<ID.ready> with the same contents appears atomically; only the
C<ID.pend> step is skipped for such a message. Creating and deleting a
file costs far more than renaming one on some file systems (ext4 without
a journal searches past every inode freed in the last 30 seconds for each
new file), which made a burst of messages slower the longer it lasted;
and writing over a file's old contents reuses its page and block, where
emptying it per message freed them for the next message to allocate
again.
The client also keeps the last 16 spares it took open (those of at most
4 KiB), so a message sent in one of them is written through the open
descriptor: in a conversation a message costs each side a read of the
watch, an open, a read and a rename to take it, a write, a close and a
rename to send one back (and a truncation when the answer is shorter
than the file it travels in). It holds its folder and the spare folder
open too, and names the files it takes and sends relative to them (no
walk down their paths per message). These descriptors are close-on-exec
and closed when the client disconnects or reconnects.
The spares leave with the client's folder at disconnect; a reconnecting
client deletes those of its earlier incarnation.

=head2 Bursts of sends

A client that sends more than it has received (2000 requests sent at
once, then awaited) runs out of spares. Before it creates a file for the
next message, it takes the messages its watch announced meanwhile (in a
request burst: the answers already there), exactly as a read would take
them: whole, in name order, removed from its folder, their files kept as
new spares. It holds them (while it holds fewer than C<$SPARES>: a
client that only sends leaves the rest in its folder) for its next
C<get_messages>, which returns them first, in the same sorted batch as
the rest (C<ready_messages> is true meanwhile, and the service loop and
handles look at once). Nothing
is read early without inotify (the folder would have to be listed for
every such send). So a burst of N requests creates only the files needed
before the first answers come back, not N of them: on ext4 without a
journal each new file costs a search past every inode freed in the last
30 seconds, which made 2000 pipelined requests slower than as many round
trips.

The watch is left as a caller waiting on C<handles_for_select> in its own
select loop expects: readable while messages wait (the client touches its
folder's times when it took any, and the watch reports that). A client
that suspends puts the messages it holds back into its folder first, with
their names and bytes unchanged, for its next incarnation.

The rules a reader relies on are unchanged: a message is the file
C<ID.ready> (ID: the message id) in the recipient's folder, complete when
it appears there; a client takes every C<.ready> file of its folder, in
name order, and C<get_messages> returns each batch sorted by stamp, so
one sender's messages keep their order.

=head2 Differences from the original

The original deletes every message file it reads and creates one per
message sent; the C<.spare> folder and the recycling are this
distribution's. The original lists its directory on every look (every
0.2 s or on each inotify wake-up); this one lists it only as said above.
The original reads messages only when asked; this one may take them
while sending (see L</Bursts of sends>), which a caller sees only through
the files leaving the folder earlier.

Errors: C<Client does not exist>, C<Message file 'PATH' already exists>
(with a stack trace), C<Could not make dir 'PATH': ...>, C<Cannot rename
directory: ...>, C<Message has no peer>; warnings C<MessageFiles: malformed
message 'FILE': ...>, C<MessageFiles: could not put back message 'ID': ...>
(suspend, see L</Bursts of sends>).

=cut
