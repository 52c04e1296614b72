package IPC::Manager::Core;

use strict;
use warnings;

our $VERSION = '0.000038';

# the functions live in the distribution's shared object
require AnyEvent::Fork::Core;

my $INOTIFY;

sub have_inotify {
   return $INOTIFY if defined $INOTIFY;
   return $INOTIFY = 0 if $ENV{IPC_MANAGER_NO_INOTIFY};
   my $fd = watch_open ("/", 0);
   return $INOTIFY = 0 unless defined $fd;
   POSIX::close ($fd) if eval { require POSIX; 1 };
   return $INOTIFY = 1;
}

# a directory watch as a Perl file handle
sub watch {
   my ($dir, $peers) = @_;
   my $fd = watch_open ($dir, $peers ? 1 : 0);
   return undef unless defined $fd;
   open my $fh, "<&=", $fd or return undef;
   return $fh;
}

1;
__END__

=head1 NAME

IPC::Manager::Core - the C core behind the IPC::Manager services

=head1 SYNOPSIS

   use IPC::Manager::Core;

   my $id   = IPC::Manager::Core::uuid ();
   my $loop = IPC::Manager::Core::Loop->new;
   my $res  = $loop->wait ([$sock], [], [POSIX::SIGUSR1 ()], [$owner_pid], 1, 0.2);

=head1 DESCRIPTION

The compiled part of the services: the wait step of a service loop on
libevent, the byte-level helpers of the bus transports and random ids. It
is an implementation detail of the C<IPC::Manager> modules; its functions
may change between releases.

=over

=item $uuid = uuid ()

A random version 4 UUID (upper-case hex), from the kernel's random bytes.

=item $pid = pid ()

This process's id, like C<$$> (which asks the kernel each time it is
read), but remembered until the next fork.

=item $bool = pid_alive ($pid)

True when the process exists and is not a zombie (checked without reaping
it).

=item $ino = file_ino ($path)

The inode number of the file C<$path> names (through symbolic links), or
0 with C<$!> set when it cannot be looked at: a perl C<stat> without the
list of thirteen values.

=item $fd = watch_open ($dir, $peers), $fh = watch ($dir, $peers)

An inotify descriptor (or handle) that becomes readable when an entry is
renamed into C<$dir> (how message files arrive) and, with C<$peers>, also
when one is created or removed (peers joining or leaving a route).
Undef with C<$!> set where inotify is missing. C<watch_drain ($fh)> reads
the queued events. C<have_inotify> tells whether watches work here; it is
false when the environment variable C<IPC_MANAGER_NO_INOTIFY> is true, which
forces the polling fallback.

=item $step = pidfile_put ($pidfile, $pid)

Writes C<$pid> in decimal to F<$pidfile.pend> (created or emptied) and
renames it to C<$pidfile>, replacing it, so that readers see a whole file.
Returns 0, or the step that failed (1 creating the F<.pend> file, 2 writing
it, 3 renaming it) with C<$!> set; a failed step 2 or 3 removes the F<.pend>
file. Clients register their pidfile with it: no Perl handle is built, which
matters in a process that has just been forked.

=item $pid = pidfile_wait ($pidfile, $watch, $timeout)

Sleeps until the pidfile names (in its leading digits) a process that is
alive in the sense of C<pid_alive>, at most C<$timeout> seconds (negative:
no limit), and returns that pid, or 0 on timeout; undef with C<$!> set when
the watch fails. A pidfile that cannot be read counts as absent. C<$watch>
is a route watch (C<watch ($dir, 1)>) of the pidfile's directory, whose
queued events it consumes; with undef it looks at the file every 50 ms.
This is how a handle waits for its service to be ready.

=item $watch = register_entry ($kind, $path, $sock, $pid [, $want_watch])

Registers a client in one step, as a freshly forked service does before
any of its Perl runs: makes the entry C<$path> (C<dgram>: binds the
unbound datagram socket C<$sock>; C<stream>: binds the stream socket and
listens; C<dir>: makes the folder, C<$sock> unused, and with
C<$want_watch> its message watch, as C<watch_open ($path, 0)>), then
writes C<$pid> to F<$path.pid> as C<pidfile_put> does and removes
F<$path.suspend>. Returns the watch's descriptor (-1: none), or undef with
C<$!> set (C<EADDRINUSE> or C<EEXIST> when the entry exists: it is left
alone); a failure leaves nothing of the client's in the route. Croaks on
an unknown kind.

=item ($pid, $watch) = fork_service ($reg, \@child_drop, \@parent_drop)

The fork of C<ipcm_service>, as perl's C<fork> does it (handles flushed,
signals blocked around it), with the first steps of each process done
before it runs any Perl: with C<$reg> (C<[$kind, $path, $sock, $want_watch,
$name]>), the child sets C<$0> to C<$name> (on Linux what other processes
see is written before it registers, the Perl variable right after) and
registers as C<register_entry ($kind, $path, $sock, CHILD_PID,
$want_watch)> does; then
the child releases the descriptors of C<@child_drop> and the parent those
of C<@parent_drop>, as C<fds_release> does. Returns the child's pid in the
parent; C<0> in the child, followed, with C<$reg>, by the watch
C<register_entry> returns (undef with C<$!> set when registering failed);
undef with C<$!> set when the fork fails. Croaks before forking on a
malformed C<$reg> (C<IPC::Manager::Core::fork_service: the registration is
not [kind, path, socket, want_watch, name]>), an unknown kind, something
that is not a descriptor, or more than 32 descriptors in all. After a fork
each page a process is first to write to costs it a copy-on-write fault:
this way the child is registered, and the service ready, after a few of
them.

=item $bool = free_is_quiet ($ref [, $budget])

True when freeing what C<$ref> refers to, whenever that happens, makes no
difference a program can see: neither it (which may be an object: its
destructor is the caller's to judge) nor anything reachable from it
(elements, referents) is another object, carries magic (a tie, weak
references to it, ...), is a hash weakly referred to, a glob or file
handle of its own (globs of a symbol table are fine) or a closure (its
variables are not looked at; named subs and anonymous subs without
variables are fine), within C<$budget> nodes (default 256; a cycle uses
it up). C<ipcm_service> uses it to keep its copy of a service instance
until the handle goes, rather than freeing it while the service starts.

=item $n = fds_release (@handles_or_fds)

Lets go of what each descriptor refers to (a socket, a watch) while
keeping its number taken: it becomes a descriptor of F</dev/null>
(close-on-exec). For the copies of another process's descriptors a
process holds in Perl objects it frees later, as after a fork: closing the
handle later closes F</dev/null>, never a descriptor opened meanwhile with
the same number. Returns how many were released (C<$!> set on a failure).

=item ($msg) = msg_decode ($text), ($value) = json_decode ($text)

C<json_decode> decodes simple JSON in C (strings with any escape,
integers up to 18 digits, decimal fractions, null, true, false, plain
objects and arrays, 32 levels deep) exactly as the default serializer's
coder does, and returns the empty list for any other text (which is the
coder's to decode, and to report when malformed). C<msg_decode> returns,
of those, only the objects holding every field of a message (C<from>,
C<to>, C<content>, C<stamp>, C<stamp_ord>, C<id>, none of them null),
blessed as C<IPC::Manager::Message>: what the coder and
C<IPC::Manager::Message::_received> make of the text. Every protocol of
this distribution reads the messages it receives this way.

=item $bytes = dgram_recv ($sock)

The next datagram of a socket, whole, however large (the buffer is sized
from what the kernel queued, up to 16 MiB). Undef with C<$!> set to
C<EAGAIN> when nothing is queued, or C<EMSGSIZE> when the datagram was
too large and has been dropped.

=item @bytes = dgram_recv_all ($sock)

Every datagram queued on the socket, in order, each whole; an undef entry
stands for one that was too large and has been dropped.

=item @payloads = frames ($buffer), $frame = frame ($payload)

Length framing of stream transports: a 4-byte big-endian length, then the
payload. C<frames> removes every complete frame from the front of
C<$buffer> and returns their payloads; a final undef means the next frame
announces more than 256 MiB (the stream is then unusable).

=item ($stamp, $stamp_ord) = stamp ()

The stamp of a new message of this process: the time now (to the
microsecond, fractional seconds) and its tie counter, 0 when the time
differs from the previous stamp's and one more while it repeats.

=item $id = msg_put ($buffer, $framed, $from_json, $to_json, $content_json), $id = msg_put ($buffer, $framed, $from_json, $to_json, $content, 1), $id = msg_put ($buffer, $framed, $from_json, $to_json, $value, 2 or 3, $request_id)

Appends a new message's JSON text to C<$buffer> (as a frame when
C<$framed>) and returns its new id: C<{"from":...,"to":...,"content":...,
"stamp":SEC.USEC,"stamp_ord":N,"id":"ID"}>, the JSON texts given as they
are, the stamp taken as C<stamp> takes it. With a true sixth argument
C<$content> is the content itself, written in C when it is simple data:
undef, strings of ASCII characters (not numbers too), integers (not
strings too), and plain (unblessed, untied) hashes and arrays of those,
nested at most 8 deep; for other data it returns undef and leaves the
buffer as it was (the caller encodes it then). With 2 the content is a
request's, C<< {ipcm_request_id => $request_id, request => $value} >>,
with 3 a response's, C<< {ipcm_response_id => $request_id, response =>
$value} >>, written (the id first) without the hash when C<$request_id>
and C<$value> are simple data (undef otherwise, as with 1). Croaks
C<IPC::Manager::Core::msg_put: read-only buffer>, and C<frame too large>
(the buffer unchanged) for a frame over 256 MiB.

=item $loop = IPC::Manager::Core::Loop->new

=item $res = $loop->wait (\@read, \@write, \@signals, \@pids, $reap, $timeout [, $sparse])

Waits for the first of: a handle of C<@read> readable, one of C<@write>
writable, one of the signal numbers C<@signals> delivered, a child exit
(with C<$reap>; exited children are reaped), a pid of C<@pids> gone, or
C<$timeout> seconds (negative: no timeout). Returns
C<< {r => [...], w => [...], sigs => {signum => count}, reaped => {pid =>
raw wait status}, gone => [pids]} >>. While it waits, the loop handles the
listed signals and C<SIGCHLD> itself; the previous handlers are in place
again when it returns.

With a true C<$sparse>, the result holds only the entries that are not
empty (a quiet timeout gives C<{}>), which spares a service loop building
and testing the empty ones on each step.

=back

=cut
