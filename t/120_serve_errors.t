# Child-side errors of the Serve loop: every text listed under "Error
# messages" in AnyEvent::Fork::Serve's POD, exactly, and the exit status
# (0: the loop prints the error and exits normally).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use AEFHelp;

use Errno ();
use AnyEvent;
use AnyEvent::Fork;

# A new_exec child whose STDERR is a pipe we read, and a condvar for its
# exit status. The Serve loop has two readers: a Perl one until the first
# descriptor arrives (the core is loaded then), and the core's after that.
# "perl": the child inherits the pipe as STDERR, no descriptor is ever sent;
# "core": the pipe is sent (send_fh) and made STDERR by the child.
sub child {
   my ($mode) = @_;
   my ($r, $p);
   if ($mode eq "perl") {
      ($r, $p) = with_stderr_pipe (sub { AnyEvent::Fork->new_exec });
   } else {
      $p = AnyEvent::Fork->new_exec;
      $r = stderr_pipe ($p);
   }
   my $st = watch_child ($p->pid);
   ($p, $r, $st)
}

# the STDERR output up to the child's exit, and its exit status
sub outcome {
   my ($p, $r, $st) = @_;
   my $err = drain ($r); # the loop runs, so the queue is written meanwhile
   undef $_[0];
   ($err, $st->recv)
}

for my $mode ("perl", "core") {

# eval errors: "[$0] ERROR: $@" plus a newline, exit status 0
{
   my ($p, $r, $cst) = child ($mode);
   $p->eval ('die "boom\n"');
   my ($err, $st) = outcome ($p, $r, $cst);
   is ($err, "[$$ AnyEvent::Fork/exec] ERROR: boom\n\n", "$mode reader: die \"boom\\n\" in eval: \"[\$0] ERROR: boom\" and an empty line");
   is ($st, 0, "... exit status 0");
}
{
   my ($p, $r, $cst) = child ($mode);
   $p->eval ('1 +');
   my ($err, $st) = outcome ($p, $r, $cst);
   like ($err, qr/\A\[\d+ AnyEvent::Fork\/exec\] ERROR: syntax error at \(eval \d+\) line 1, at EOF\n\n\z/, "$mode reader: syntax error: perl's message verbatim");
   is ($st, 0, "... exit status 0");
}
{
   my ($p, $r, $cst) = child ($mode);
   $p->eval ('die "no newline"');
   my ($err, $st) = outcome ($p, $r, $cst);
   like ($err, qr/\A\[\d+ AnyEvent::Fork\/exec\] ERROR: no newline at \(eval \d+\) line 1\.\n\n\z/, "$mode reader: die without newline: perl's location suffix kept");
   is ($st, 0, "... exit status 0");
}
{
   my ($p, $r, $cst) = child ($mode);
   $p->require ("AEFT::Does::Not::Exist");
   my ($err, $st) = outcome ($p, $r, $cst);
   like ($err, qr/\A\[\d+ AnyEvent::Fork\/exec\] ERROR: Can't locate AEFT\/Does\/Not\/Exist.pm in \@INC /, "$mode reader: require of a missing module reports perl's error");
   is ($st, 0, "... exit status 0");
}

# unknown command letter
{
   my ($p, $r, $cst) = child ($mode);
   $p->_cmd ("x", "");
   my ($err, $st) = outcome ($p, $r, $cst);
   is ($err, "[$$ AnyEvent::Fork/exec] ERROR: AnyEvent::Fork::Serve received unknown request 'x' - stream corrupted?\n",
       "$mode reader: unknown command: the exact message");
   is ($st, 0, "... exit status 0");
}

# a run function that does not exist: perl's own message, status 255
for my $func ("nosuch", "Some::Pkg::nosuch") {
   my ($p, $r, $cst) = child ($mode);
   $p->run ($func);
   my ($err, $st) = outcome ($p, $r, $cst);
   my $full = $func =~ /::/ ? $func : "main::$func";
   like ($err, qr/\AGoto undefined subroutine &\Q$full\E at \S+ line \d+\.\n\z/, "$mode reader: run (\"$func\") of a missing function: Goto undefined subroutine &$full at ...");
   is ($st, 255 << 8, "... the process dies (status 255)");
}

# the run function starts with $! = 0 (like the original; a die then exits 255)
{
   my ($p, $r, $cst) = child ($mode);
   is (report ($p, '0 + $!'), 0, "$mode reader: \$! is 0 when the run function starts");
}

# what a run function does decides the exit status
for my $case (["return", 'sub fn { }', 0], ["die", 'sub fn { die "x\n" }', 255 << 8], ["exit 3", 'sub fn { exit 3 }', 3 << 8]) {
   my ($what, $code, $want) = @$case;
   my ($p, $r, $cst) = child ($mode);
   $p->eval ($code)->run ("fn");
   my ($err, $st) = outcome ($p, $r, $cst);
   is ($st, $want, "$mode reader: a run function that does '$what': exit status " . ($want >> 8));
}

# end-of-file: a silent exit with status 0
{
   my ($p, $r, $cst) = child ($mode);
   flush_queue ($p);
   undef $p;
   my ($err, $st) = outcome ($p, $r, $cst);
   is ($err, "", "$mode reader: end-of-file on the socket: no message");
   is ($st, 0, "... exit status 0");
}

# an absurd frame length: reported at once, no attempt to read (or allocate) it
{
   my ($p, $r, $cst) = child ($mode);
   push @{ $p->[0] }, "e" . pack "L", 0xfffffff0;
   $p->_cmd ("e", "die 'must not run'"); # would be read as payload by a reader that tries
   my ($err, $st) = outcome ($p, $r, $cst); # the socket stays open: the child must not wait for more
   is ($err, "[$$ AnyEvent::Fork/exec] ERROR: AnyEvent::Fork::Serve received an oversized request - stream corrupted?\n",
       "$mode reader: frame length 0xfffffff0: the exact message, while the socket stays open");
   is ($st, 0, "... exit status 0");
}

# a frame announced longer than what follows, then end-of-file: a silent exit
{
   my ($p, $r, $cst) = child ($mode);
   push @{ $p->[0] }, "e" . pack ("L", 100) . "1;";
   flush_queue ($p);
   undef $p;
   my ($err, $st) = outcome ($p, $r, $cst);
   is ($err, "", "$mode reader: end-of-file inside a frame: no message");
   is ($st, 0, "... exit status 0");
}

}

# in a process created by fork: the name in the message is its own $0
{
   my $t = AnyEvent::Fork->new_exec;
   my $tst = watch_child ($t->pid);
   my $c = $t->fork;
   my $r = stderr_pipe ($c);
   $c->eval ('die "forked boom\n"');
   is (drain ($r), "[$$ AnyEvent::Fork] ERROR: forked boom\n\n", "eval error in a forked process: [OWNER AnyEvent::Fork] ERROR: ...");
   my $cv = AE::cv;
   my $io = AE::io $c->[1], 0, $cv;
   $cv->recv;
   is (sysread ($c->[1], my $buf, 1), 0, "... and the process has exited (end-of-file on its socket)");

   # an eval error ends even a template (as documented for the original);
   # its children live on
   my $c2 = $t->fork;
   $r = stderr_pipe ($t);
   $t->eval ('die "template boom\n"');
   is (drain ($r), "[$$ AnyEvent::Fork/exec] ERROR: template boom\n\n", "eval error in a template: reported");
   is ($tst->recv, 0, "... and the template exits with status 0");
   is (report ($c2, '"alive"'), "alive", "... while a process forked from it before lives on");
}

# me cannot open its descriptor
{
   my ($st, $out, $err) = run_cmd ({ PERL5LIB => join ":", grep !ref, @INC },
                                   $^X, "-MAnyEvent::Fork::Serve", "-e", "AnyEvent::Fork::Serve::me", 999, 1);
   is ($err, "AnyEvent::Fork::Serve::me unable to open communication socket: Bad file descriptor\n", "me with a bad descriptor: the exact message");
   is ($out, "", "... nothing on STDOUT");
   is ($st, Errno::EBADF () << 8, "... and it dies (exit status \$! = EBADF, as perl's die does)");
}

for my $mode ("perl", "core") {
   # "h" followed by a plain byte without a descriptor
   {
      my ($p, $r, $cst) = child ($mode);
      $p->_cmd ("h", "");
      $p->[0][-1] .= "\0"; # the data byte, but sent with write(): no SCM_RIGHTS
      my ($err, $st) = outcome ($p, $r, $cst);
      like ($err, qr/\A\[\d+ AnyEvent::Fork\/exec\] ERROR: AnyEvent::Fork::Serve: fd_recv\(\) failed: [^\n]+\n\z/, "$mode reader: h without a descriptor: fd_recv() failed: \$!");
      is ($st, 0, "... exit status 0");
   }

   # "h", then end-of-file
   {
      my ($p, $r, $cst) = child ($mode);
      $p->_cmd ("h", "");
      flush_queue ($p);
      undef $p;
      my $err = drain ($r);
      like ($err, qr/\A\[\d+ AnyEvent::Fork\/exec\] ERROR: AnyEvent::Fork::Serve: fd_recv\(\) failed: [^\n]*\n\z/, "$mode reader: h, then end-of-file: fd_recv() failed");
      is ($cst->recv, 0, "... exit status 0");
   }
}

# an "f" that does not follow its "h" directly (AnyEvent::Fork never sends
# one; the loop's rare part, compiled when needed): the last argument is
# the new process's socket, as for the original
{
   my ($p, $r, $cst) = child ("core");
   my ($mine, $its) = AnyEvent::Fork::Core::socketpair or die "socketpair: $!";
   open my $fh, "+<&=", $mine or die;
   open my $cfh, "+<&=", $its or die;
   $p->send_fh ($cfh)->eval ('$AEFT::x = 42')->_cmd ("f", "");
   undef $cfh;
   my $c = AnyEvent::Fork->new_from_fh ($fh);
   $c->eval ('$AEFT::name = $0');
   is (report ($c, '"$AEFT::name $AEFT::x " . scalar @arg'), "$$ AnyEvent::Fork 42 0", "'h', 'e', then 'f': the process forked on the last argument's socket");
   is (report ($p, 'scalar @arg'), 0, "... and the template goes on, without that argument");
   my ($err, $st) = outcome ($p, $r, $cst);
   is ($err, "", "... nothing on STDERR");
}
{
   # before the first descriptor (no core yet): the new process gets a
   # string for a socket and dies on it (perl's message); the template goes on
   my ($p, $r, $cst) = child ("perl"); # (its STDERR is the copy's too)
   $p->send_arg ("x")->_cmd ("f", "");
   is (report ($p, 'join " ", scalar @arg, defined &AnyEvent::Fork::Core::serve_next ? "core" : "no core"'), "0 no core",
       "an 'f' without 'h' before the core is loaded: the template goes on, without its last argument");
   outcome ($p, $r, $cst);
}

# fork() failure in the template
SKIP: {
   my $prlimit = (grep -x, map "$_/prlimit", split /:/, $ENV{PATH})[0]
      or skip "needs the prlimit command", 3;
   my ($p, $r, $cst) = child ("core");
   # as root RLIMIT_NPROC does not apply, so the template becomes nobody
   $p->eval ('
      require POSIX;
      system ($_[0], "--pid", $$, "--nproc=0:0") == 0 or die "prlimit failed\n";
      if ($< == 0) {
         POSIX::setgid (65534) or die "setgid: $!\n";
         POSIX::setuid (65534) or die "setuid: $!\n";
      }
   ', $prlimit);
   my $c = $p->fork;
   my ($err, $st) = outcome ($p, $r, $cst);
   is ($err, "[$$ AnyEvent::Fork/exec] ERROR: AnyEvent::Fork::Serve: fork() failed: Resource temporarily unavailable\n",
       "fork failure in the template: the exact message");
   is ($st, 0, "... exit status 0");
   is (drain ($c->[1]), "", "... and the new object's socket reaches end-of-file");
}

done_testing;
