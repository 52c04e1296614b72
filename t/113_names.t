# Process names ($0) at every moment ("OWNER AnyEvent::Fork/exec" for a
# template, "OWNER AnyEvent::Fork" for a fork, "OWNER FUNCNAME" after run,
# "OWNER FUNCTION" in an RPC worker), seen from inside (the
# child reports $0) and from outside (/proc/PID/cmdline).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use Test::More;
use AEFHelp;

use AnyEvent;
use AnyEvent::Fork;

sub cmdline {
   my ($pid) = @_;
   open my $fh, "<", "/proc/$pid/cmdline" or return "(gone)";
   local $/;
   my $c = <$fh>;
   $c =~ s/\0+\z//;
   $c
}

# the Serve loop writes its $0 and pid to a pipe sent as the last argument
sub serve_name {
   my ($proc) = @_;
   pipe my $r, my $w or die;
   $proc->send_fh ($w)->eval ('syswrite $arg[-1], "$0\n$$\n$AnyEvent::Fork::Serve::OWNER"; close pop @arg');
   undef $w;
   my $cv = AE::cv;
   my $io = AE::io $r, 0, $cv; # the loop must run to write the queue
   $cv->recv;
   split /\n/, slurp ($r)
}

my $exec = AnyEvent::Fork->new_exec;
{
   my ($name, $pid, $owner) = serve_name ($exec);
   is ($name, "$$ AnyEvent::Fork/exec", 'exec\'d server: $0 is "OWNER AnyEvent::Fork/exec"');
   is ($pid, $exec->pid, "... (it is the exec'd process)");
   is ($owner, $$, '... and $AnyEvent::Fork::Serve::OWNER is our pid');
   is (cmdline ($exec->pid), "$$ AnyEvent::Fork/exec", "... as seen in /proc/PID/cmdline");
}

my $forked = $exec->fork;
{
   my ($name, $pid, $owner) = serve_name ($forked);
   is ($name, "$$ AnyEvent::Fork", 'process created by fork: $0 is "OWNER AnyEvent::Fork"');
   is ($owner, $$, "... OWNER is inherited");
   is (cmdline ($pid), "$$ AnyEvent::Fork", "... as seen in /proc/PID/cmdline");
}

{
   my $out = report ($exec->fork, 'join " ", $$, readlink "/proc/self", getppid');
   my ($pid, $self, $ppid) = split / /, $out;
   is ($pid, $self, '$$ in a forked process is its own pid');
   is ($ppid, $exec->pid, "... and getppid the template's");
}

{
   my ($name, $pid, $owner) = serve_name ($forked->fork);
   is ($name, "$$ AnyEvent::Fork", 'a fork of a fork: $0 is "OWNER AnyEvent::Fork"');
   is ($owner, $$, "... OWNER is inherited through every level");
}

{
   my ($name) = serve_name (AnyEvent::Fork->new);
   is ($name, "$$ AnyEvent::Fork", 'new: $0 is "OWNER AnyEvent::Fork"');
}

{
   my ($name) = serve_name ($exec);
   is ($name, "$$ AnyEvent::Fork/exec", "the template keeps its name after forking");
}

# after run: "OWNER FUNCNAME", the name exactly as sent
for my $func ("rn", "main::rn", "::rn", "Some::Pkg::rn") {
   my $p = $exec->fork;
   $p->eval ('
      sub main::rn { syswrite $_[0], "$0\n$$"; sysread $_[0], my $buf, 1 }
      *Some::Pkg::rn = \&main::rn;
   ');
   $p->run ($func, my $cv = AE::cv);
   my $fh = $cv->recv;
   set_blocking ($fh, 1);
   my $buf = "";
   while ($buf !~ /\n\d+\z/) {
      sysread $fh, $buf, 100, length $buf or last;
   }
   my ($name, $pid) = split /\n/, $buf;
   is ($name, "$$ $func", "after run (\"$func\"): \$0 is \"OWNER $func\"");
   is (cmdline ($pid), "$$ $func", "... as seen in /proc/PID/cmdline");
   close $fh; # lets the child finish
}

done_testing;
