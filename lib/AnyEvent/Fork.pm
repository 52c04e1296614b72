=head1 NAME

AnyEvent::Fork - everything you wanted to use fork() for, but couldn't

=head1 SYNOPSIS

   use AnyEvent;
   use AnyEvent::Fork;

   # a new process (forked from the default template), told to load a
   # module and then to call one of its functions with the socket
   AnyEvent::Fork
      ->new
      ->require ("MyModule")
      ->send_arg ("some string")
      ->run ("MyModule::server", my $cv = AE::cv);

   my $fh = $cv->recv; # the parent's end of the socket to the child

   # a template of your own, with modules loaded once, and cheap copies
   my $template = AnyEvent::Fork->new->require ("POSIX", "MyModule");
   $template->fork->send_arg ($_)->run ("MyModule::job", sub { ... })
      for 1 .. 10;

   # a fresh perl (its pid is yours to watch), passed an open handle
   my $proc = AnyEvent::Fork->new_exec;
   my $pid  = $proc->pid;
   $proc->send_fh ($listening_socket)
        ->eval ('sub serve { ... }')
        ->run ("serve", sub { ... });

   # run some code in a process of its own and let it end there
   AnyEvent::Fork->new->eval ('print "hello from $$\n"; exit 0');

=head1 DESCRIPTION

A program that runs an event loop, holds open connections, threads or a
large heap cannot simply C<fork> to get a worker: the child inherits all
of it, watchers fire in both processes, sockets are shared, destructors
and C<END> blocks run twice, and the copy is as large as the parent.
Executing a new perl instead is clean but slow, and the new process knows
nothing of the parent's modules.

This module gives you both: processes that are created by executing a
fresh perl once (or by forking the main program very early), and then by
forking that clean I<template> as often as you like. Each process is
controlled from the parent through a UNIX socket: you tell it to load
modules, evaluate code, receive strings and open file handles, fork
itself, and finally to call a function of yours, to which it hands the
socket. From then on the socket is a private channel between your parent
code and that function, for any protocol you like (L<AnyEvent::Fork::RPC>
and L<AnyEvent::Fork::Pool> are two such protocols).

This is a drop-in replacement for Marc Lehmann's AnyEvent::Fork 1.32 that
needs neither L<IO::FDPass> nor L<Proc::FastSpawn>: descriptor passing,
spawning and the command codec live in the distribution's own C core
(L<AnyEvent::Fork::Core>). Programs written for the original (1.0 and
later: C<use AnyEvent::Fork 0.6> passes the version check) run unchanged,
and the bytes on the socket are identical, so a parent of either kind can
drive a child of the other.

The child side (the command loop) is L<AnyEvent::Fork::Serve>. Templates
made from the main program itself are L<AnyEvent::Fork::Early> and
L<AnyEvent::Fork::Template>.

=head1 CONCEPTS

=head2 Three ways to make a process

=over

=item Executing a new perl: C<new_exec>

The parent starts C<$AnyEvent::Fork::PERL> with
C<-MAnyEvent::Fork::Serve> and gives it one end of a new socketpair. The
new perl has loaded nothing but the command loop; it finds the same
modules as the parent, because its C<PERL5LIB> is the parent's C<@INC>. It
is a child of the parent, and C<< $proc->pid >> tells you its pid. This is
the slowest way (a perl has to start), but the result is clean.

=item Forking a template: C<fork> and C<new>

Any process still in its command loop can be told to fork. The copy
shares everything the original had loaded at that moment (copy-on-write,
so it costs almost no memory and no start-up time) and gets a socket of
its own. The copy is a child of the template, not of your program, so
its pid is not known to the parent (C<pid> returns undef) and you cannot
C<waitpid> for it; the template reaps it.

C<< AnyEvent::Fork->new >> is a fork of the default template
C<$AnyEvent::Fork::TEMPLATE>, which the first C<new> makes with
C<new_exec>. Make your own template when your processes need modules
that are expensive to load: load them into the template once, then fork
it.

=item Forking the main program: L<AnyEvent::Fork::Early>, L<AnyEvent::Fork::Template>

At C<use> time these modules fork the program itself, at the point where
the C<use> is, and keep the copy as a template. Early does this before
anything else is loaded (so that C<new_exec> can fork instead of
executing perl); Template does it after the modules your workers need are
loaded, so that they share them. Both are real copies of your program: see
L</TYPICAL PROBLEMS> about C<END> blocks.

=back

A typical tree of processes:

   your program  (pid 100)
     |
     +-- socket --> template (pid 101, made by new_exec: a child of 100)
                      +-- child (pid 102, made by ->fork or ->new)
                      +-- child (pid 103)

=head2 Commands are queued

The methods C<eval>, C<require>, C<send_arg>, C<send_fh>, C<fork> and
C<run> do not talk to the process: they append a command to the object's
queue and return at once (all but C<run> return the object, so calls can be
chained). An AnyEvent write watcher writes the queue to the socket while
your event loop runs. So nothing happens until you return to the event
loop (or wait for a condition variable, which runs it). The object keeps
itself alive until its queue is written, even when you drop your last
reference to it, so

   AnyEvent::Fork->new->eval ('do_something (); exit');

is a complete request: the command is written as soon as the loop runs.

The process executes the commands in the order they were queued, one
after the other.

=head2 What the child sees

=over

=item * Its command loop runs in package C<main>, with warnings off
(C<$^W> is 0) unless the code it evaluates enables them.

=item * C<eval> code sees C<@_> (the arguments of that C<eval>) and the
lexical C<@arg>: everything sent so far with C<send_arg> (strings) and
C<send_fh> (handles), in the order sent.

=item * STDIN, STDOUT and STDERR are inherited unchanged, from your
program (C<new_exec>) or from the template. Output a child prints appears
where your program's output goes.

=item * The environment and the current directory are the parent's at the
time the process (or its template) was made; an executed perl also has
C<PERL5LIB> set to the parent's C<@INC> (references in C<@INC> are left
out).

=item * C<$0> tells what the process is: C<"OWNER AnyEvent::Fork/exec">
for a template, C<"OWNER AnyEvent::Fork"> for a forked process in its
command loop, and C<"OWNER FUNCTION"> once C<run> has called FUNCTION,
where OWNER is the pid of your main program
(C<$AnyEvent::Fork::Serve::OWNER> in the child).

=item * The signal mask and ignored signals are inherited; signal
handlers are not (an executed perl starts with none, see
L</TYPICAL PROBLEMS>).

=back

=head2 What the parent sees

The object is a blessed array reference; element C<< $proc->[1] >> is the
parent's end of the socket (non-blocking, close-on-exec). You may watch it
for readability: end-of-file there means the child has gone. There is no
C<DESTROY> method and no child watcher: when you drop the object (after its
queue was written) the socket closes, and a process still in its command
loop exits when it reads end-of-file. Reaping is up to you for processes
made by C<new_exec> (see C<pid>); forked processes are reaped by their
template.

=head2 Handing over: C<run>

C<run> is the last command a process gets. The child leaves its command
loop and calls your function with the socket and the argument list
(C<@arg>); the loop is gone, the function owns the process, and the
process exits when the function returns. In the parent, once everything
is written, your callback receives the parent's end of the socket, and
the object becomes empty. What goes over the socket from then on is up to
you.

=head2 Passing file handles

C<send_fh> sends an open handle's file descriptor to the child
(C<SCM_RIGHTS> over the socket), where it arrives as a new read/write
handle at the end of C<@arg>. The parent can drop its own copy right after
the call: the queue holds it until it has been sent. This is how a child
gets a listening socket, a pipe, a log file, or a connection that the
parent accepted. Handles a template received are inherited by every
process forked from it afterwards.

=head1 EXAMPLES

=head2 A worker that talks a line protocol

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Handle;
   use AnyEvent::Fork;

   my $done = AE::cv;

   AnyEvent::Fork
      ->new
      ->eval (q{
           # compiled in the child, in package main
           sub upcase_server {
              my ($fh, $greeting) = @_;   # the socket, then the send_arg strings
              $fh->autoflush (1);         # the child's end is a blocking handle
              print {$fh} "$greeting\n";
              print {$fh} uc while <$fh>;
              # returning ends the process
           }
        })
      ->send_arg ("ready")
      ->run ("upcase_server", sub {
           my ($fh) = @_;                 # the parent's end, non-blocking

           my $hdl = AnyEvent::Handle->new (
              fh       => $fh,
              on_error => sub { $done->croak ("child: $_[2]") },
           );

           $hdl->push_read (line => sub {
              print "child says: $_[1]\n";
              $hdl->push_write ("hello\nworld\n");
              $hdl->push_read (line => sub { print "1: $_[1]\n" });
              $hdl->push_read (line => sub { print "2: $_[1]\n"; $done->send ($hdl) });
           });
        });

   my $hdl = $done->recv;
   $hdl->destroy; # closes the socket: the child reads end-of-file and exits

=head2 Many short-lived processes from one template

The template loads L<Digest::MD5> once; every process forked from it has
it already. Each process writes its result to its socket and exits, so
end-of-file tells the parent that the result is complete.

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;

   my $template = AnyEvent::Fork
      ->new
      ->require ("Digest::MD5")
      ->eval (q{
           sub checksum {
              my ($fh, $file) = @_;
              open my $in, "<", $file or return print {$fh} "error: $!";
              binmode $in;
              print {$fh} Digest::MD5->new->addfile ($in)->hexdigest;
           }
        });

   my $all = AE::cv;
   my %sum;

   for my $file (@ARGV ? @ARGV : ($0, $^X)) {
      $all->begin;
      $template
         ->fork               # a copy of the template, Digest::MD5 included
         ->send_arg ($file)
         ->run ("checksum", sub {
              my ($fh) = @_;
              my $buf = "";
              my $w; $w = AE::io $fh, 0, sub {
                 sysread $fh, $buf, 4096, length $buf and return;
                 undef $w;            # end-of-file: the child has exited
                 $sum{$file} = $buf;
                 $all->end;
              };
           });
   }

   $all->recv;
   print "$sum{$_}  $_\n" for sort keys %sum;

=head2 A fresh perl, its pid and its exit status

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;

   my $proc = AnyEvent::Fork->new_exec;
   my $exited = AE::cv;
   my $cw = AE::child $proc->pid, sub { $exited->send ($_[1] >> 8) };

   $proc->eval ('exit 3');
   undef $proc; # the queue is still written: the object lives until then

   print "exit status: ", $exited->recv, "\n";

=head2 Passing a file handle to several processes

A log file opened by the parent is sent to a template; the three processes
forked from it inherit it. C<to_fh> is used here only to learn when each
queue has been written; end-of-file on the socket then tells that the
process has exited.

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use File::Temp ();

   my $log = File::Temp->new;        # opened here, in the parent
   my $template = AnyEvent::Fork->new->send_fh ($log);

   my $all = AE::cv;
   for my $n (1 .. 3) {
      $all->begin;
      $template->fork
         ->eval ('syswrite $arg[0], "worker $_[0] is pid $$\n"; exit 0', $n)
         ->to_fh (sub {
              my ($fh) = @_;
              # the callback uses $fh, so the handle lives as long as $w
              my $w; $w = AE::io $fh, 0, sub { undef $w; close $fh; $all->end };
           });
   }
   $all->recv; # each child has exited (end-of-file on its socket)
   undef $template;

   open my $in, "<", $log->filename or die "$!";
   print sort <$in>;

=head2 Handing the socket to another program

The function makes the socket its STDIN and STDOUT and executes C<tr>;
the parent then talks to C<tr> directly.

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;

   my $cv = AE::cv;

   AnyEvent::Fork
      ->new
      ->eval (q{
           sub exec_filter {
              my ($fh, @cmd) = @_;
              open STDIN,  "<&", $fh or die "stdin: $!";
              open STDOUT, ">&", $fh or die "stdout: $!";
              exec @cmd or die "exec $cmd[0]: $!";
           }
        })
      ->send_arg ("tr", "a-z", "A-Z")
      ->run ("exec_filter", sub {
           my ($fh) = @_;
           syswrite $fh, "shout this\n";
           shutdown $fh, 1; # end-of-file for tr
           my $out = "";
           my $w; $w = AE::io $fh, 0, sub {
              sysread $fh, $out, 4096, length $out and return;
              undef $w;
              $cv->send ($out);
           };
        });

   print $cv->recv;

=head2 A preforked server sharing one listening socket

The parent opens the listening socket and passes it to two processes,
which take turns accepting clients. Each server also watches its own
command socket: when the parent drops it, the server returns and its
process ends. Note how the parent waits for the C<run> callbacks before it
does anything blocking: until then the commands are not written.

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use IO::Socket::INET;

   my $listen = IO::Socket::INET->new (
      LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 16, ReuseAddr => 1,
   ) or die "listen: $!";
   my $port = $listen->sockport;

   my $template = AnyEvent::Fork
      ->new
      ->eval (q{
           sub serve_clients {
              my ($fh, $listen) = @_;        # our socket, then the sent handle
              $listen->blocking (0);         # another server may take a client first
              my $rin = "";
              vec ($rin, fileno $_, 1) = 1 for $fh, $listen;
              while (select my $rout = $rin, undef, undef, undef) {
                 return if vec $rout, fileno $fh, 1; # the parent closed our socket
                 accept my $client, $listen or next;
                 syswrite $client, "served by $$\n";
              }
           }
        });

   my $started = AE::cv;
   my @server;                              # the parent ends of the sockets
   for (1 .. 2) {
      $started->begin;
      $template->fork->send_fh ($listen)->run ("serve_clients", sub {
         push @server, shift;
         $started->end;
      });
   }
   undef $template;
   $started->recv; # the commands are written: the servers are running

   # blocking clients are fine now: nothing is left for the event loop to do
   for (1 .. 4) {
      my $c = IO::Socket::INET->new (PeerAddr => "127.0.0.1", PeerPort => $port)
         or die "connect: $!";
      print "client $_: ", scalar <$c>;
   }
   undef @server;  # end-of-file for the servers: they return, and exit

More programs are in the distribution's F<examples/> folder.

=head1 PACKAGE VARIABLES

=over

=item $AnyEvent::Fork::VERSION

C<1.32>, the version of the original whose interface this is.

=item $AnyEvent::Fork::PERL

The perl that C<new_exec> runs. Unless you set it, the first C<new_exec>
that needs it sets it: to C<$^X> when that is an absolute path whose last
component is C<perl>, optionally followed by a version (C<perl5.36>,
C<perl5.36.0>) and C<.exe>; otherwise to C<$Config{perlpath}> (with
C<$Config{_exe}> appended when missing). Set it yourself to run another
perl; it must be able to load this distribution's modules.

=item $AnyEvent::Fork::TEMPLATE

The default template that C<new> forks. Undef until the first C<new>
makes it with C<new_exec>; L<AnyEvent::Fork::Early> sets it to the early
process. You may set it to any object of this class that is still in its
command loop.

=item $AnyEvent::Fork::EARLY

Set by L<AnyEvent::Fork::Early>. While it is true, C<new_exec> forks it
instead of executing perl (and the result has no pid). You may assign
another object or undef it.

Code that runs in a child made by this module, and wants to make
processes of its own, should start with

   undef $AnyEvent::Fork::EARLY;
   undef $AnyEvent::Fork::TEMPLATE;

so that it does not use the objects it inherited from its parent (their
sockets belong to the parent).

=item $AnyEvent::Fork::Template

Set by L<AnyEvent::Fork::Template> (note the case: this is not
C<$TEMPLATE>).

=back

=head1 METHODS

Every constructor returns an object for a process that is running its
command loop. Every method that queues a command returns the object,
except C<run>.

=over

=cut

package AnyEvent::Fork;

use strict;
no warnings;

use AnyEvent ();
use AnyEvent::Util ();
use AnyEvent::Fork::Core ();
use Errno ();

our $VERSION = '1.32';

our $PERL;     # the perl to use for new_exec
our $TEMPLATE; # the default template
our $EARLY;    # the early template, see AnyEvent::Fork::Early
our $Template; # the template made by AnyEvent::Fork::Template

sub QUEUE () { 0 }
sub FH    () { 1 }
sub WW    () { 2 }
sub PID   () { 3 }
sub CB    () { 4 }

# (parent end, child end) of a new socketpair as Perl handles, both
# close-on-exec; the parent end is made non-blocking by _new
sub _socketpair {
   my ($fd0, $fd1) = AnyEvent::Fork::Core::socketpair
      or return;
   open my $fh0, "+<&=", $fd0 or die "AnyEvent::Fork: fdopen: $!";
   open my $fh1, "+<&=", $fd1 or die "AnyEvent::Fork: fdopen: $!";
   ($fh0, $fh1)
}

sub _new {
   my ($class, $fh, $pid) = @_;

   AnyEvent::Fork::Core::set_nonblock ($fh, 1);

   bless [[], $fh, undef, $pid], $class
}

# write as much of the queue as the socket takes; once it is empty, drop the
# watcher and hand the socket to the callback, if there is one
sub _flush {
   my ($self) = @_;
   my $queue = $self->[QUEUE];

   while (@$queue) {
      if (ref $queue->[0]) {
         my $fd = fileno ${ $queue->[0] }; # undef once the caller closed it
         unless (defined $fd && AnyEvent::Fork::Core::fd_send $self->[FH], $fd) {
            $! = Errno::EBADF unless defined $fd;
            return if $! == Errno::EAGAIN || $! == Errno::EWOULDBLOCK;
            undef $self->[WW];
            die "AnyEvent::Fork: file descriptor send failure: $!";
         }
         shift @$queue;
      } else {
         my $len = syswrite $self->[FH], $queue->[0];

         unless ($len) {
            return if !defined $len && ($! == Errno::EAGAIN || $! == Errno::EWOULDBLOCK);
            undef $self->[WW];
            die "AnyEvent::Fork: command write failure: $!";
         }

         if ($len < length $queue->[0]) {
            substr $queue->[0], 0, $len, "";
         } else {
            shift @$queue;
         }
      }
   }

   undef $self->[WW];

   if ($self->[CB]) {
      $self->[CB]->($self->[FH]);
      @$self = ();
   }
}

sub _cmd {
   my $self = shift;

   if (0xffffffff < length $_[1]) {
      require Carp;
      Carp::croak ("AnyEvent::Fork: command too long (" . (length $_[1]) . " octets, at most 4294967295)");
   }

   # consecutive commands are merged into one string, written in one go
   my $queue = $self->[QUEUE];
   if (@$queue && !ref $queue->[-1]) {
      $queue->[-1] .= pack "a L/a*", $_[0], $_[1];
   } else {
      push @$queue, pack "a L/a*", $_[0], $_[1];
   }

   $self->[WW] ||= AE::io $self->[FH], 1, sub { _flush $self };

   ()
}

# a template forked from the current process (Early and Template)
sub _new_fork {
   my ($class, $name) = @_;

   my ($fh, $slave) = _socketpair
      or die "AnyEvent::Fork::Early/Template: unable to fork template process: $!";
   my $owner = $$;
   my $pid = fork;

   if ($pid eq 0) {
      require AnyEvent::Fork::Serve;
      $AnyEvent::Fork::Serve::OWNER = $owner;
      close $fh;
      $0 = "$owner AnyEvent::Fork/exec";
      AnyEvent::Fork::Serve::serve ($slave);
      exit 0;
   }

   defined $pid
      or die "AnyEvent::Fork::Early/Template: unable to fork template process: $!";

   $class->_new ($fh, $pid)
}

=item $proc = AnyEvent::Fork->new

Returns a new process, forked from the default template
C<$AnyEvent::Fork::TEMPLATE>. The first call makes that template with
C<new_exec> (or finds it set by L<AnyEvent::Fork::Early>). The process is
a child of the template, not of the caller: its C<pid> is undef.

This is the usual way to get a process: after the first call it costs one
C<fork> of a small perl, not a perl start-up.

=cut

sub new {
   my $class = shift;

   $TEMPLATE ||= $class->new_exec;
   $TEMPLATE->fork
}

=item $new_proc = $proc->fork

Queues the command that makes C<$proc>'s process fork, and returns an
object for the copy. The copy has everything the process had loaded, and
the strings and handles sent to C<$proc> so far (C<@arg>); these stay in
C<$proc>'s process too. Commands queued on C<$proc> after this call go to
C<$proc>'s process, not to the copy; those queued on C<$new_proc> go to
the copy. The copy's C<pid> is undef: it is a child of C<$proc>'s
process, which reaps it.

Dies C<AnyEvent::Fork: socketpair: $!> when no socketpair can be made
(for example when the process is out of descriptors).

=cut

sub fork {
   my ($self) = @_;

   my ($fh, $slave) = _socketpair
      or die "AnyEvent::Fork: socketpair: $!";

   $self->send_fh ($slave);
   $self->_cmd ("f");

   ref ($self)->_new ($fh)
}

=item $proc = AnyEvent::Fork->new_exec

Returns a new process made by executing C<$AnyEvent::Fork::PERL> (see
L</PACKAGE VARIABLES>) as

   $PERL -MAnyEvent::Fork::Serve -e AnyEvent::Fork::Serve::me FD OWNER

with the environment of the caller, except that C<PERL5LIB> is the
caller's C<@INC> (without references), so that the new perl finds the same
modules, this distribution included. Only the child's end of the socket
is inherited; every other descriptor the distribution makes is
close-on-exec. The process is a child of the caller: C<pid> returns its
pid, and reaping it is up to you (an C<AE::child> watcher, or C<waitpid>).

When C<$AnyEvent::Fork::EARLY> is set, the process is forked from that
instead, and its C<pid> is undef.

When the first directory of C<@INC> that holds this distribution's
L<AnyEvent::Fork::Core> is a relative one (as C<perl -Ilib> gives), the
command line also has C<-mAnyEvent::Fork::Core> before
C<-MAnyEvent::Fork::Serve>: the new perl then loads the core at once,
while the directory still means what it meant to the caller, rather than
when the first descriptor arrives.

Dies C<unable to spawn AnyEvent::Fork server: $!> when perl cannot be
started (for example when C<$PERL> does not exist: C<$!> is then the
error of the failed C<exec>, which the core reports back to the parent).

=cut

sub _perl {
   return $PERL if defined $PERL;

   if ($^X =~ /[\/\\]perl(?:[0-9]+(\.[0-9]+)+)?(\.exe)?$/i
       and $^O eq "MSWin32" || $^X =~ m{^/})
   {
      $PERL = $^X;
   } else {
      require Config;
      $PERL = $Config::Config{perlpath};
      $PERL .= $Config::Config{_exe}
         unless $PERL =~ /\Q$Config::Config{_exe}\E$/i;
   }

   $PERL
}

sub new_exec {
   my ($self) = @_;

   return $EARLY->fork
      if $EARLY;

   my $perl = _perl;

   my ($fh, $slave) = _socketpair
      or die "unable to spawn AnyEvent::Fork server: $!";

   local $ENV{PERL5LIB} = join $^O eq "MSWin32" ? ";" : ":", grep !ref, @INC;

   # the template binds every symbol at start-up (LD_BIND_NOW), so that its
   # forks never resolve one lazily (each a copy-on-write fault); this value
   # tells it to remove the variable again before any user code runs
   my @bind = exists $ENV{LD_BIND_NOW} ? () : "LD_BIND_NOW=AnyEvent::Fork::Serve";

   # the child loads the core when the first descriptor arrives; should it
   # find the core through a relative directory (perl -Ilib), it loads it at
   # once instead: code it evaluates may change directory before then
   my @core;
   for (@INC) {
      next if ref || !-f "$_/AnyEvent/Fork/Core.pm";
      @core = "-mAnyEvent::Fork::Core" unless m{^/};
      last;
   }

   my $pid = AnyEvent::Fork::Core::spawn (
      $perl,
      [$perl, @core, "-MAnyEvent::Fork::Serve", "-e", "AnyEvent::Fork::Serve::me", fileno $slave, $$],
      [(map "$_=$ENV{$_}", keys %ENV), @bind],
      $slave,
   );

   die "unable to spawn AnyEvent::Fork server: $!"
      if $pid < 0;

   $self->_new ($fh, $pid)
}

=item $pid = $proc->pid

The process id, for objects made by C<new_exec> (without Early), by
L<AnyEvent::Fork::Early> and by L<AnyEvent::Fork::Template>: these
processes are children of your program. Undef for objects made by C<new>,
C<fork> and C<new_from_fh>.

=cut

sub pid {
   $_[0][PID]
}

=item $proc = $proc->eval ($perlcode, @args)

Queues C<$perlcode> to be compiled and run in the child by a string
C<eval>, in package C<main>, with C<@_> set to C<@args> (octet strings).
Besides C<@_>, the code sees the lexical C<@arg> (see L</CONCEPTS>).
Warnings are off unless the code enables them.

Use it to define the functions C<run> will call, to load modules, to set
globals, or to do some work and C<exit>. Anything it defines stays in the
process, and in every process forked from it afterwards.

When the code dies (or does not compile), the child prints
C<[$0] ERROR: $@> on STDERR and exits with status 0, even when it is a
template; processes already forked from it live on.

=cut

sub eval {
   my ($self, $code, @args) = @_;

   $self->_cmd (e => pack "(w/a*)*", $code, @args);

   $self
}

=item $proc = $proc->require ($module, ...)

Queues the loading of the named modules in the child (C<Foo::Bar> becomes
C<require "Foo/Bar.pm">), as one C<eval>. A module that cannot be found
ends the child as described under C<eval>.

=cut

sub require {
   my ($self, @modules) = @_;

   s%::%/%g for @modules;
   $self->eval ('require "$_.pm" for @_', @modules);

   $self
}

=item $proc = $proc->send_fh ($handle, ...)

Queues the passing of each handle's file descriptor to the child. There it
is adopted as a new read/write Perl handle and appended to the argument
list (C<@arg> in C<eval> code, and the run function's arguments). The
child's descriptor is close-on-exec, like every handle perl opens; clear
the flag (L<Fcntl>) if an executed program must inherit it.

The queue keeps a reference to each handle until it has been sent, then
drops it: you may drop your own reference at once, and the parent's copy
of the descriptor closes as soon as it has been sent (unless you keep a
reference). Do not close the handle yourself before it has been sent:
the write watcher then dies with C<AnyEvent::Fork: file descriptor send
failure: Bad file descriptor> (see L</Error messages>) and is gone, and the queue
stays stopped at that handle; each command queued later reports the same
error once more.

Croaks C<AnyEvent::Fork: file descriptor send failure: Bad file
descriptor> when an argument is not an open handle.

=cut

sub send_fh {
   my ($self, @fh) = @_;

   for my $fh (@fh) {
      unless (defined eval { fileno $fh }) {
         require Carp;
         local $! = Errno::EBADF;
         Carp::croak ("AnyEvent::Fork: file descriptor send failure: $!");
      }

      $self->_cmd ("h");
      push @{ $self->[QUEUE] }, \$fh;
   }

   $self
}

=item $proc = $proc->send_arg ($string, ...)

Queues octet strings that the child appends to its argument list (an
undefined value arrives as the empty string). Use it to pass parameters to
the run function or to later C<eval> code. Strings with characters above
255 are not supported (encode them first).

=cut

sub send_arg {
   my ($self, @arg) = @_;

   $self->_cmd (a => pack "(w/a*)*", @arg);

   $self
}

=item $proc->run ($func, $cb->($fh))

Queues the last command: the child leaves its command loop and calls the
function named C<$func> (resolved in package C<main>, so C<"MyModule::run">
or C<"run"> for C<main::run>) as

   $func->($socket, @arg)

The process ends when the function returns (status 0) or dies (status
255); it may also C<exit> on its own. A function that does not exist
makes perl die with C<Goto undefined subroutine &main::NAME>.

Once everything queued has been written, C<$cb> (a code reference or a
condvar) is called with the parent's end of the socket, and the object is
emptied: do not call methods on it any more. When C<$cb> is false, the
object stays as it is, and the socket closes when you drop it. Returns
nothing.

=cut

sub run {
   my ($self, $func, $cb) = @_;

   $self->[CB] = $cb;
   $self->_cmd (r => $func);
}

=item $proc->to_fh ($cb->($fh))

Experimental. Calls C<$cb> with the parent's end of the socket once the
queue has been written (immediately, before C<to_fh> returns, when nothing
is queued), and empties the object. Unlike C<run>, the process stays in
its command loop: whoever holds the socket can go on sending commands,
for example another process that received it with C<send_fh> and wraps
it with C<new_from_fh>. The return value means nothing.

=cut

sub to_fh {
   my ($self, $cb) = @_;

   $self->[CB] = $cb;

   unless ($self->[WW]) {
      $cb->($self->[FH]);
      @$self = ();
   }
}

=item $proc = AnyEvent::Fork->new_from_fh ($fh)

Experimental. Returns an object for a socket obtained from C<to_fh>,
possibly in another process (passed with C<send_fh>). The handle is made
non-blocking; the process behind it is not told anything and goes on
executing the commands it receives. C<pid> is undef.

=cut

sub new_from_fh {
   my ($class, $fh) = @_;

   $class->_new ($fh)
}

=back

=head2 Error messages

The parent dies with these (the texts are the original's):

=over

=item C<AnyEvent::Fork: command write failure: $!>

=item C<AnyEvent::Fork: file descriptor send failure: $!>

Writing the queue failed (typically C<Broken pipe> because the child has
exited, or C<Bad file descriptor> because a queued handle was closed before
it could be sent). These are thrown inside the write watcher, that is from
the event loop: under L<EV> they are printed as C<EV: error in callback
(ignoring): ...> and the program goes on; under AnyEvent's pure-Perl loop
they propagate out of whatever C<< $cv->recv >> is running the loop.

=item C<unable to spawn AnyEvent::Fork server: $!>

From C<new_exec>, when perl could not be started.

=item C<AnyEvent::Fork: command too long (N octets, at most 4294967295)>

A command (C<eval> code with its arguments, or C<send_arg> strings)
larger than the wire format's 32-bit length can describe; croaked by the
method that queues it, and nothing is queued.

=back

The texts a child prints are listed in L<AnyEvent::Fork::Serve>.

=head1 TYPICAL PROBLEMS

=over

=item Nothing happens

Commands are only queued; they are written while the event loop runs.
A program that queues commands and then sleeps, blocks in C<sysread>, or
exits, never sends them. Wait for something (a condvar passed to C<run>,
end-of-file on a socket) or run your loop.

=item C<END> blocks and destructors run in the children

Processes made by L<AnyEvent::Fork::Early> and
L<AnyEvent::Fork::Template>, and everything forked from them, are copies
of your program: when they exit, the C<END> blocks of your program and
the destructors of objects that existed when they were forked run there
too (a temporary file removed, a database told goodbye, a lock released,
a "done" message printed twice). The default template that C<new> uses is
a freshly executed perl, so it has none of this. Remedies: make
the template before such objects exist; end the child's functions with
C<POSIX::_exit (0)>, which runs nothing; or guard C<END> blocks with a
check of C<$$> against the pid you remembered at start-up.

=item Descriptor leaks: end-of-file that never comes

A reader sees end-of-file only when every copy of the writing end is
closed, in every process. Common culprits: the parent keeps its own
reference to a handle it passed with C<send_fh> (drop it after the call;
the queue keeps it until it is sent); a handle was sent to a template, so
the template and every process forked from it afterwards hold a copy (send
handles to the forked processes instead, unless all of them should have
it); a process keeps handles in C<@arg> or in globals. Descriptors this
module makes are close-on-exec, so programs executed by a child do not
inherit them; handles your own program opened without close-on-exec
(STDIN, STDOUT, STDERR, and anything below C<$^F>) are inherited by
C<new_exec> perls, as with any C<exec>.

=item Processes pile up as zombies, or C<AE::child> never fires

Processes made by C<new>, C<fork> and C<new_from_fh> are children of their
template, not of your program: you cannot watch them with C<AE::child> or
C<waitpid>; watch their socket for end-of-file instead. A template reaps
its exited children just before it reads each command, so they stay
zombies until it gets its next command or exits. Processes made by
C<new_exec>, Early and Template are your children: reap them (an
C<AE::child> watcher on C<pid>), this module installs no child watcher.

=item Signals

Children inherit the signal mask and the ignored signals of their
template (an executed perl, those of your program); signal handlers do not
survive C<exec>, so an executed perl and everything forked from it start
with the default handling of every signal that was not ignored. In
particular, AnyEvent installs a C<SIGPIPE> handler in your program, but a
child has none: a child that writes to its socket after the parent closed
it is killed by C<SIGPIPE>, silently (its wait status says signal 13). Set
C<< $SIG{PIPE} = "IGNORE" >> in the child to get C<EPIPE> errors instead.
Setting C<< $SIG{CHLD} = "IGNORE" >> in your program makes C<new_exec>
children vanish without a status.

=item Forking after threads or an event loop

A process that has started threads, or created an event loop (L<EV>
opens an epoll descriptor that a copy shares with its original), or
connected to a display server, is a bad template: the copy shares state it
cannot use safely. Make templates before such things exist:
L<AnyEvent::Fork::Early> at the very start, L<AnyEvent::Fork::Template>
right after loading what the children need, or the default C<new_exec>
template, which has loaded nothing. A child that needs an event loop
should create it itself, after it was forked.

=item A watcher on the socket never fires

Once C<run> or C<to_fh> has called your callback, the object lets go of
the socket: the handle stays open only as long as you keep a reference to
it. Under L<EV> a watcher keeps its handle alive, but under AnyEvent's
pure-Perl loop it does not, so a watcher created with
C<< AE::io $fh, 0, sub { ... } >> whose callback does not mention C<$fh>
watches a closed descriptor and never fires. Use the handle in the
callback (read it, close it), or store it.

=item Output of children appears late, or out of order

A child's STDOUT is your program's; when that is a pipe or a file perl
buffers it, and the buffer is written when the child exits. Use C<$| = 1>
or C<syswrite> in children whose output must interleave with the parent's.

=item An C<eval> error ends a template

Code evaluated in a template that dies ends the template (after printing
C<[$0] ERROR: ...>); every later command to it, and every C<fork> of it,
is lost. Test code in a forked process first, or catch errors in the code
itself (C<eval { ...; 1 } or warn $@>).

=item Very large commands

The wire format limits one command to 4 GiB; the command loop of this
distribution refuses anything above 256 MiB as a corrupted stream. Pass
bulk data through the socket after C<run>, or through a file or pipe
handle, not as C<send_arg> strings.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

Programs see the interface, the objects, the error texts and the bytes on
the socket of AnyEvent::Fork 1.32. What differs:

=over

=item * No L<IO::FDPass> and no L<Proc::FastSpawn>: descriptor passing and
spawning are in the distribution's C core. Every socketpair and every
received descriptor is close-on-exec from the moment it exists; a
descriptor message whose control data was truncated is detected, and
surplus descriptors are closed instead of leaking. C<new_exec> spawns with
C<vfork> and learns of a failed C<exec> through a close-on-exec pipe, so
C<unable to spawn AnyEvent::Fork server: $!> reports the exec's own error.

=item * C<send_fh> croaks at once when given something that is not an open
handle (the original died later, inside the write watcher); a command
longer than the 32-bit length field croaks instead of being sent with a
truncated length; the child refuses commands above 256 MiB (see
L<AnyEvent::Fork::Serve>).

=item * A handle closed before the queue sent it makes the write watcher
die with C<Bad file descriptor> (see C<send_fh>). The original passed its
own descriptor 0 in its place (the undefined C<fileno> taken as 0) and went
on, so the child silently received the parent's standard input.

=item * Code sent with C<eval> sees only C<@arg> and C<@_> of the command
loop; the original also let it see the loop's other private variables
(the socket, the current command).

=item * A process forked from an Early or Template template no longer
keeps a copy of the template's own socket, so the parent sees end-of-file
when the template exits while such a process lives.

=item * Speed: consecutive commands are written with one system call; a
C<fork> command is carried out by the C core, which forks and moves the
new socket into place without creating or freeing a Perl handle (fewer
copy-on-write page faults in the template and the child); the compiled
core binds its symbols when it is loaded, so no child pays for a lazy
symbol lookup; an executed perl loads the core only when it first
receives a descriptor, so a template that only evaluates code stays as
small as the original's, and it compiles only the command loop's common
cases at start-up (the rest when needed). The benchmark F<bench/fork.pl> measures these
against the original.

=back

=head2 The exit hook of forked children

A process forked from a template (C<fork>, C<new> with the default
template) ends its exit early: it flushes every Perl file handle and
every C stdio stream and ends the process with C<_exit> and perl's exit
status. Most of what perl's own exit does after the C<END> blocks only
frees, page by page, memory the child shares with its template, and each
page it writes to is copied first; skipping it saves a short-lived child
most of its page faults (in F<bench/fork.pl>, a child of a template with
a few modules loaded that exits at once: about 85 instead of 200, the
original's 260).

When the C<END> blocks have run, the child looks whether the destruction
of the remaining objects would do anything: it would when a live object's
class (or a base class) has a C<DESTROY> method that is not empty, or,
lacking one, an C<AUTOLOAD> method (perl calls that instead), when a
handle is open to or from a process (C<open $fh, "|-", ...>: perl waits
for the process when it closes the handle), or when other code registered
a function with L<perlapi/perl_atexit>. If none of that is so, the child
ends right there. Otherwise perl destroys the objects (your C<DESTROY>
methods run, pipes are closed and their processes waited for) and calls
the C<perl_atexit> functions, and the child ends after the last of them.
C<AnyEvent::Fork::Core::fast_exit_early ()> tells, in the child, which of
the two would happen if it exited now.

Either way, what it skips is C's C<exit>: C<atexit> handlers registered
by C code and the destructors of loaded shared libraries (for example of
other XS modules) do not run in such children; their Perl-level C<END>
blocks and C<DESTROY> methods still do. Processes the child forks itself
exit the ordinary way.

To turn it off, set the environment variable
C<PERL_ANYEVENT_FORK_FAST_EXIT> to C<0> before the template is made (each
new child reads it), or call C<AnyEvent::Fork::Core::fast_exit (0)> in the
template or in the child (C<< $template->eval ('require
AnyEvent::Fork::Core; AnyEvent::Fork::Core::fast_exit (0)') >>);
C<fast_exit> returns the previous setting, and C<fast_exit ()> only
reads it.

=head2 Symbols bound at start-up

C<new_exec> starts the template with C<LD_BIND_NOW> set (unless the
variable is already set), so that the dynamic linker binds every symbol
of perl and of the modules the template loads at once, instead of at their
first use, which would happen in each forked child again. The template
removes the variable from C<%ENV> before any of your code runs: neither
your code nor the programs it runs see it.

=head1 SEE ALSO

L<AnyEvent::Fork::Serve> (the child's side), L<AnyEvent::Fork::Early>,
L<AnyEvent::Fork::Template>, L<AnyEvent::Fork::RPC> (requests and
responses over the socket), L<AnyEvent::Fork::Pool> (a pool of such
workers), L<AnyEvent::Fork::Core> (the C core), L<AnyEvent>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers. The interface, its behaviour and the
wire protocol are those of AnyEvent::Fork by Marc Lehmann, whose design
this distribution reimplements; it shares no code with it.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (the file LICENSE has the full text).

=cut

1
