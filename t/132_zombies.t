# Reaping: the template reaps its exited children before reading each
# command (as 1.32 does, and not earlier: exited children stay zombies until
# then; "quirk 4" in the test names), and the parent installs no child
# watcher (reaping the processes it made is the caller's business).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use AEFHelp;

use AnyEvent;
use AnyEvent::Fork;

my $N = 40;

my $t = AnyEvent::Fork->new_exec;
my $tpid = $t->pid;

# $N processes that report their pid and exit
my @pid;
for (1 .. $N - 1) {
   $t->fork->eval ('sub quit { syswrite $_[0], $$ }')->run ("quit", my $cv = AE::cv);
   push @pid, slurp ($cv->recv); # end-of-file: the process has closed its socket
}
# the last one exits when told, once the template waits for its next
# command: the template reaps just before reading a command, so a process
# that exited before the template got there (a busy machine) is reaped at
# once, and one that exits while it waits stays a zombie
$t->fork->eval ('sub quit_told { syswrite $_[0], sprintf "%20d", $$; sysread $_[0], my $go, 1 }')->run ("quit_told", my $cv = AE::cv);
my $fh = $cv->recv;
my $last = read_exactly ($fh, 20) =~ s/^ +//r;
wait_reading ($tpid);
syswrite $fh, "x";
push @pid, $last . slurp ($fh);
is (scalar (grep /^\d+\z/, @pid), $N, "$N processes ran and reported their pid");

# end-of-file comes a moment before the process is a zombie: wait for that
wait_until (sub { !grep { my $s = proc_state ($_); defined $s && $s ne "Z" } @pid });
ok (1, "all of them have exited");

my @z = grep { (proc_state ($_) // "") eq "Z" } @pid;
ok (scalar @z, "some are zombies of the template until its next command (quirk 4): @z");
is (proc_ppid ($pid[-1]), $tpid, "... the last one is a child of the template");
is (proc_state ($pid[-1]), "Z", "... and a zombie");

# one more command: the template reaps before reading it
pipe my $r, my $w or die;
$t->send_fh ($w)->eval ('syswrite $arg[-1], "done"; close pop @arg');
undef $w;
is (drain ($r), "done", "the template processed one more command");
is_deeply ([grep { defined proc_state ($_) } @pid], [], "... and all $N processes are reaped");
is_deeply ([children_of ($tpid)], [], "the template has no children left");

# no child watcher in the parent
ok (!$SIG{CHLD} || $SIG{CHLD} eq "DEFAULT", "the product did not install a SIGCHLD handler");
SKIP: {
   skip "EV's default loop reaps every child by itself", 1 if $AnyEvent::MODEL =~ /EV/;
   my $p = AnyEvent::Fork->new_exec;
   my $pid = $p->pid;
   $p->eval ('sub quit { }')->run ("quit", my $cv = AE::cv);
   slurp ($cv->recv);
   wait_until (sub { (proc_state ($pid) // "") eq "Z" });
   my $cv2 = AE::cv; my $tm = AE::timer 0, 0, $cv2; $cv2->recv; # one more loop iteration
   is (waitpid ($pid, 1), $pid, "an exited new_exec child stays for the caller to reap: nobody reaped it");
}

done_testing;
