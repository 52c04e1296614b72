package AEFHelp;

=head1 NAME

AEFHelp - small helpers shared by the tests of every band (t/*.t)

=head1 SYNOPSIS

   use lib "t/lib";
   use AEFTest timeout => 30;
   use AEFHelp;

   my $out = report ($proc, '"pid=$$"');   # runs the code in the child, returns its value
   flush_queue ($proc);                    # run the loop until the write queue is written
   my @fds = proc_fds ($pid);

=head1 DESCRIPTION

Every helper synchronises on an event (end-of-file, a condvar, a state
change it polls for) - never on elapsed time. The watchdog of L<AEFTest>
bounds every wait.

=over

=cut

use strict;
use warnings;

use Exporter qw(import);
use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC F_GETFL F_SETFL O_NONBLOCK);
use POSIX ();
use File::Temp ();
use AnyEvent ();

our @KEEP;
our $TIMEOUT; # seconds after which run_cmd kills its command (default: none)

our @EXPORT = qw(
   flush_queue wait_until watch_child with_stderr_pipe stderr_pipe slurp drain read_exactly set_blocking
   hexs stats
   proc_fds my_fds proc_state proc_ppid children_of cloexec_inherited alive run_for
   report run_cmd perl_cmd tap_subtest orig_root orig_inc
   wait_buffered wait_reading
);

=item flush_queue ($proc)

Runs the event loop until the write watcher of C<$proc> (element C<[2]>) is
gone, i.e. until the queue has been written (or the watcher died).

=cut

sub flush_queue {
   my ($proc) = @_;
   wait_until (sub { !$proc->[2] });
}

=item wait_until { cond }

Runs the event loop until C<< $cond->() >> is true (checked every few
milliseconds: this waits for a state, it does not guess a time).

=cut

sub wait_until(&) {
   my ($cond) = @_;
   return if $cond->();
   my $cv = AE::cv;
   my $w = AE::timer 0.002, 0.002, sub { $cv->send if $cond->() };
   $cv->recv;
}

=item set_blocking ($fh, $on)

=cut

sub set_blocking {
   my ($fh, $on) = @_;
   my $fl = fcntl $fh, F_GETFL, 0 or die "F_GETFL: $!";
   $fl = $on ? $fl & ~O_NONBLOCK : $fl | O_NONBLOCK;
   fcntl $fh, F_SETFL, $fl or die "F_SETFL: $!";
}

=item $cv = watch_child ($pid)

A condvar that receives the wait status of our child C<$pid>. Under EV the
default loop reaps every child as soon as the loop runs, and under the
Perl model AnyEvent's child watchers reap every child too, so waitpid
cannot be used once the loop has run: create the watcher right after the
process, before running the loop.

=cut

sub watch_child {
   my ($pid) = @_;
   my $cv = AE::cv;
   my $w; $w = AE::child $pid, sub { undef $w; $cv->send ($_[1]) };
   $cv
}

=item ($reader, @result) = with_stderr_pipe ($cb)

Calls C<$cb> with STDERR redirected to a new pipe and returns the read end
(and what C<$cb> returned). Processes created by C<$cb> inherit the pipe as
their STDERR; this process keeps no copy of the write end.

=cut

sub with_stderr_pipe {
   my ($cb) = @_;
   pipe my $r, my $w or die "pipe: $!";
   open my $save, ">&", \*STDERR or die "dup STDERR: $!";
   open STDERR, ">&", $w or die "redirect STDERR: $!";
   my @res = eval { $cb->() };
   my $err = $@;
   open STDERR, ">&", $save or die "restore STDERR: $!";
   close $w;
   die $err if $err;
   ($r, @res)
}

=item $reader = stderr_pipe ($proc)

Queues on C<$proc> (an AnyEvent::Fork object) the write end of a new pipe
and the code that makes it the child's STDERR (taking it out of C<@arg>
again), and returns the read end. This process keeps no copy of the write
end once it has been sent, so the reader sees end-of-file when the child
and its descendants are gone.

=cut

sub stderr_pipe {
   my ($proc) = @_;
   pipe my $r, my $w or die "pipe: $!";
   $proc->send_fh ($w)->eval ('open STDERR, ">&", $arg[-1] or die "dup STDERR: $!"; close pop @arg');
   $r
}

=item $hex = hexs ($bytes)

The bytes as two-digit hex numbers separated by spaces, for readable
comparisons of wire data.

=cut

sub hexs { join " ", unpack "(H2)*", $_[0] }

=item $text = stats ($pool)

C<AnyEvent::Fork::Pool::stats> of C<$pool> joined by commas: the numbers
of workers, idle workers and queued jobs, e.g. C<"2,1,0">.

=cut

sub stats { join ",", AnyEvent::Fork::Pool::stats ($_[0]) }

=item $data = slurp ($fh)

Blocking read of everything up to end-of-file.

=cut

sub slurp {
   my ($fh) = @_;
   set_blocking ($fh, 1);
   my $data = "";
   while () {
      my $n = sysread $fh, $data, 65536, length $data;
      next if !defined $n && $!{EINTR}; # a signal handler ran (SIGCHLD)
      last if !defined $n && $!{ECONNRESET}; # the peer died with unread data
      die "slurp: read error: $!" unless defined $n;
      last unless $n;
   }
   $data
}

=item $data = drain ($fh)

Like C<slurp>, but reads with an AnyEvent watcher, so that the event loop
(and with it every write queue) keeps running until end-of-file.

=cut

sub drain {
   my ($fh) = @_;
   set_blocking ($fh, 0);
   my $data = "";
   my $cv = AE::cv;
   my $w = AE::io $fh, 0, sub {
      my $n = sysread $fh, $data, 65536, length $data;
      $cv->send if defined $n ? !$n : !$!{EAGAIN} && !$!{EINTR};
   };
   $cv->recv;
   $data
}

=item $data = read_exactly ($fh, $n)

Blocking read of exactly C<$n> octets (fewer only at end-of-file).

=cut

sub read_exactly {
   my ($fh, $n) = @_;
   set_blocking ($fh, 1);
   my $data = "";
   while ($n > length $data) {
      my $r = sysread $fh, $data, $n - length $data, length $data;
      next if !defined $r && $!{EINTR};
      die "read_exactly: read error: $!" unless defined $r;
      last unless $r;
   }
   $data
}

=item wait_buffered ($sock, $n)

Waits, without running the event loop, until at least C<$n> octets are
waiting to be read on socket C<$sock> (looked at with C<MSG_PEEK>, so they
stay there for whoever reads them next): for tests that need several
frames to arrive in one read.

=cut

sub wait_buffered {
   my ($sock, $n) = @_;
   require Socket;
   my $flags = Socket::MSG_PEEK () | Socket::MSG_DONTWAIT ();
   while (1) {
      my $buf = "";
      defined recv $sock, $buf, $n, $flags
         or $!{EAGAIN} or $!{EWOULDBLOCK} or $!{EINTR} or die "wait_buffered: recv: $!";
      return if $n <= length $buf;
      select undef, undef, undef, 0.002; # the state is checked again, no time is guessed
   }
}

=item @fds = proc_fds ($pid)

The open descriptors of a process, sorted numerically.

=item @fds = my_fds ()

The open descriptors of the calling process, without the one used to list
them.

=cut

sub proc_fds {
   my ($pid) = @_;
   opendir my $dh, "/proc/$pid/fd" or return;
   my @fd = grep /^\d+\z/, readdir $dh;
   sort { $a <=> $b } @fd
}

sub my_fds {
   my @fd = proc_fds ($$);
   # the directory handle of the listing was open while it was read
   grep defined readlink "/proc/$$/fd/$_", @fd
}

=item cloexec_inherited ()

Sets close-on-exec on every descriptor above 2, so that descriptors this
test process inherited from whatever started it do not pass on to exec'd
children (they are not the product's business).

=cut

sub cloexec_inherited {
   for my $fd (grep $_ > 2, my_fds ()) {
      my $fh;
      open ($fh, "<&=", $fd) || open ($fh, ">&=", $fd) or next;
      my $fl = fcntl $fh, F_GETFD, 0;
      fcntl $fh, F_SETFD, $fl | FD_CLOEXEC if defined $fl;
      push @KEEP, $fh; # closing the handle would close the descriptor
   }
}

=item $state = proc_state ($pid), $ppid = proc_ppid ($pid)

From F</proc/PID/stat>; undef when the process is gone.

=item @pids = children_of ($pid)

All processes whose parent is C<$pid>.

=cut

sub _stat {
   my ($pid) = @_;
   open my $fh, "<", "/proc/$pid/stat" or return;
   my $s = <$fh>;
   defined $s or return;
   $s =~ /\) (\S) (\d+) / or return;
   ($1, $2)
}

sub proc_state { (_stat $_[0])[0] }

=item wait_reading ($pid)

Waits (running the event loop) until process C<$pid> sleeps in a read,
where F</proc> tells: its state is C<S> and its wait channel, where the
kernel names it, is a read or a receive. For a template, which reaps its
exited children just before it reads each command: once it sleeps there,
a child that exits stays a zombie until the next command.

=cut

sub wait_reading {
   my ($pid) = @_;
   wait_until (sub {
      my $state = proc_state ($pid);
      defined $state && $state eq "S" or return 0;
      open my $w, "<", "/proc/$pid/wchan" or return 1;
      my $where = <$w>;
      !defined $where || $where eq "0" || $where =~ /read|recv/
   });
}

=item $bool = alive ($pid)

The process exists and is neither a zombie nor dead (a template reaps its
children lazily, so a finished worker may still be a zombie).

=cut

sub alive($) {
   my ($pid) = @_;
   kill 0, $pid or return 0;
   my $state = proc_state ($pid);
   defined $state && $state !~ /^[ZX]\z/
}

=item run_for ($seconds)

Lets the event loop run for a while. Only ever used to give a wrong
implementation the chance to show itself, never to wait for something.

=cut

sub run_for($) {
   my $cv = AE::cv;
   my $t = AE::timer $_[0], 0, sub { $cv->send };
   $cv->recv;
}
sub proc_ppid  { (_stat $_[0])[1] }

sub children_of {
   my ($ppid) = @_;
   opendir my $dh, "/proc" or die "/proc: $!";
   grep { /^\d+\z/ and do { my $p = proc_ppid ($_); defined $p && $p == $ppid } } readdir $dh
}

=item $value = report ($proc, $perlcode)

Queues the definition of a run function in the child that evaluates
C<$perlcode> (with C<@_> = the run arguments after the socket, and the
socket in C<$aefh_fh>) and writes
its value to the socket, runs it, and returns what the child wrote (up to
end-of-file). An error in the code comes back as C<EVAL ERROR: $@>.
C<$proc> is emptied by the run.

=cut

sub report {
   my ($proc, $code) = @_;

   $proc->eval ('
      $AEFHelp::code = $_[0];
      sub aefh_report {
         my $aefh_fh = shift;
         my $aefh_out = eval $AEFHelp::code;
         $aefh_out = "EVAL ERROR: $@" if $@;
         syswrite $aefh_fh, $aefh_out;
      }
   ', $code);
   $proc->run ("aefh_report", my $cv = AE::cv);
   slurp ($cv->recv)
}

=item ($status, $stdout, $stderr) = run_cmd (\%env, @command)

Runs a command with additional environment (undef values delete the
variable), STDIN from F</dev/null>, and returns its wait status and its
complete output. Waits for the command to exit, or kills it (SIGKILL) after
C<$AEFHelp::TIMEOUT> seconds if that is set.

=item @cmd = perl_cmd (@args)

C<$^X> with C<-I> for every directory of the current C<@INC>, followed by
C<@args>: a perl that finds the same modules as the test.

=cut

sub run_cmd {
   my ($env, @cmd) = @_;

   my $out = File::Temp->new;
   my $err = File::Temp->new;

   my $pid = fork;
   defined $pid or die "fork: $!";

   unless ($pid) {
      open STDIN, "<", "/dev/null";
      open STDOUT, ">&", $out or POSIX::_exit (126);
      open STDERR, ">&", $err or POSIX::_exit (126);
      while (my ($k, $v) = each %$env) {
         if (defined $v) { $ENV{$k} = $v } else { delete $ENV{$k} }
      }
      { no warnings "exec"; exec { $cmd[0] } @cmd; }
      POSIX::_exit (127);
   }

   {
      # a command that hangs is killed after $AEFHelp::TIMEOUT seconds
      local $SIG{ALRM} = sub { kill KILL => $pid };
      alarm $TIMEOUT if $TIMEOUT;
      1 until waitpid ($pid, 0) == $pid;
      alarm 0;
   }
   my $status = $?;

   my @res;
   for my $f ($out, $err) {
      open my $fh, "<", $f->filename or die "$f: $!";
      local $/;
      my $all = <$fh>;
      push @res, defined $all ? $all : "";
   }

   ($status, @res)
}

sub perl_cmd {
   ($^X, (map "-I$_", grep !ref, @INC), @_)
}

=item tap_subtest ($name, $status, $tap)

Reports the TAP text C<$tap> (output of another test program that exited
with C<$status>) as a Test::More subtest: every test line becomes a test,
skips stay skips, C<# TODO> lines stay TODO, the plan and the exit status
are checked.

=cut

sub tap_subtest {
   my ($name, $status, $tap) = @_;

   my $tb = Test::More->builder;
   Test::More::subtest ($name, sub {
      my ($plan, $n);
      for (split /\n/, $tap) {
         if (/^1\.\.(\d+)/) {
            $plan = $1;
         } elsif (/^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?(.*)$/) {
            my ($bad, $desc) = ($1, $3);
            $n++;
            if ($desc =~ s/\s*#\s*skip\b\s*(.*)$//i) {
               $tb->skip ($1);
            } elsif ($desc =~ s/\s*#\s*TODO\b\s*(.*)$//i) {
               $tb->todo_start ($1);
               Test::More::ok (!$bad, $desc);
               $tb->todo_end;
            } else {
               Test::More::ok (!$bad, $desc);
            }
         } elsif (/^\s*#/) {
            Test::More::note ($_);
         } elsif (/\S/) {
            Test::More::note ("  $_");
         }
      }
      Test::More::ok (defined $plan, "a plan was printed");
      Test::More::is (defined $n ? $n : 0, defined $plan ? $plan : -1, "as many tests as planned");
      Test::More::is ($status, 0, "exit status 0");
      Test::More::done_testing ();
   });
}

=item $root = orig_root (), @dirs = orig_inc ()

Where the original AnyEvent::Fork 1.32 is unpacked (C<$ENV{AEF_ORIG}>, default
F</tmp/orig/root>), and its two library directories (empty list when absent).

=cut

sub orig_root { defined $ENV{AEF_ORIG} ? $ENV{AEF_ORIG} : "/tmp/orig/root" }

sub orig_inc {
   my $root = orig_root;
   my ($arch) = glob "$root/usr/lib/*/perl5/5.*";
   my @dir = ("$root/usr/share/perl5", defined $arch ? $arch : "");
   return unless -f "$dir[0]/AnyEvent/Fork.pm" && -f "$dir[0]/AnyEvent/Fork/Serve.pm"
              && -f "$dir[1]/IO/FDPass.pm" && -f "$dir[1]/Proc/FastSpawn.pm";
   @dir
}

1
