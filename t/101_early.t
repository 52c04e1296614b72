# AnyEvent::Fork::Early (after the original's t/01_early.t): $EARLY and
# $TEMPLATE are set, new_exec forks the early template, a new_exec result
# may become $EARLY, and children can write to inherited STDOUT and exit.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

# END blocks of the main program run in processes forked from the early
# template (they are copies of the main program: the original's
# documented behaviour); they report here, through a pipe made before Early.
our ($MAIN, $END_R, $END_W);
BEGIN {
   $MAIN = $$;
   pipe $END_R, $END_W or die "pipe: $!";
}
END {
   if ($$ != $MAIN) {
      syswrite $END_W, "END in $$\n";
   }
}

use AnyEvent::Fork::Early;

BEGIN { our ($EARLY0, $TEMPLATE0) = ($AnyEvent::Fork::EARLY, $AnyEvent::Fork::TEMPLATE) }
our ($EARLY0, $TEMPLATE0);

use Test::More;
use AEFHelp;

ok ($EARLY0, 'use AnyEvent::Fork::Early sets $AnyEvent::Fork::EARLY at compile time');
ok ($TEMPLATE0, '... and $AnyEvent::Fork::TEMPLATE');
is ($TEMPLATE0, $EARLY0, "... to the same object");
isa_ok ($EARLY0, "AnyEvent::Fork");
ok (defined $EARLY0->pid, "the early process has a pid");
is (proc_ppid ($EARLY0->pid), $$, "... and is a child of the main program");
ok (!defined $AnyEvent::Fork::PERL, '$AnyEvent::Fork::PERL is not computed while Early exists');

# the original's test: a process forked from Early, assigned to $EARLY
my $early_pid = $EARLY0->pid;
my $proc = AnyEvent::Fork->new_exec;
ok (!defined $proc->pid, "new_exec with EARLY set forks the early template (pid undef)");
ok (!defined $AnyEvent::Fork::PERL, "... without looking for a perl");
$AnyEvent::Fork::EARLY = $proc;
is ($AnyEvent::Fork::TEMPLATE, $EARLY0, '$TEMPLATE still refers to the first early process');

# what the early process preloaded, and the process names
my $info = report ($EARLY0->fork, q{
   join "\n",
      $0,
      $AnyEvent::Fork::Serve::OWNER,
      join (" ", map { $INC{$_} ? $_ : () } qw(strict.pm warnings.pm feature.pm Carp.pm AnyEvent/Fork/Core.pm common/sense.pm)),
      getppid,
      "$_[0]" // "",
});
my @info = split /\n/, $info, -1;
is ($info[0], "$$ aefh_report", '$0 after run: "OWNER FUNCNAME"');
is ($info[1], $$, '$AnyEvent::Fork::Serve::OWNER is the main program');
my @preload = qw(strict.pm warnings.pm feature.pm Carp.pm AnyEvent/Fork/Core.pm);
push @preload, "common/sense.pm" if eval { require common::sense; 1 };
is ($info[2], "@preload", "the early template preloaded strict, warnings, feature, Carp, the core (and common::sense)");
is ($info[3], $early_pid, "a forked process is a child of the early template");

# $0 of the early process itself and of a forked one, during the Serve loop
{
   pipe my $r, my $w or die;
   my $p = $EARLY0->fork;
   $p->send_fh ($w)->eval ('syswrite $arg[0], "$0\n"');
   $EARLY0->send_fh ($w)->eval ('syswrite $arg[-1], "$0\n"; pop @arg');
   undef $w;
   flush_queue ($_) for $p, $EARLY0;
   undef $p;
   my $data = slurp ($r);
   my %names = map { $_ => 1 } split /\n/, $data;
   is_deeply (\%names, { "$$ AnyEvent::Fork" => 1, "$$ AnyEvent::Fork/exec" => 1 },
              '$0 is "OWNER AnyEvent::Fork/exec" in the early process, "OWNER AnyEvent::Fork" in a fork')
      or diag $data;
}

# the original's test: code writes to the inherited STDOUT (here: the next
# TAP line) and exits; the parent sees that as end-of-file on [1]
{
   my $tb = Test::More->builder;
   my $n = $tb->current_test + 1;
   $AnyEvent::Fork::EARLY->eval ('syswrite STDOUT, "ok $_[0] - code sent with eval writes to the inherited STDOUT\n"; exit 0', $n);
   my $cv = AE::cv;
   my $io = AE::io $AnyEvent::Fork::EARLY->[1], 0, $cv;
   $cv->recv;
   $tb->current_test ($n);
   is (sysread ($AnyEvent::Fork::EARLY->[1], my $buf, 1), 0, "the exit of the child is seen as end-of-file on [1]");
}

# END blocks run in children of the early template (they are copies of
# the main program)
{
   pipe my $r, my $w or die;
   my $p = $EARLY0->fork;
   $p->send_fh ($w)->eval ('syswrite $arg[0], $$; exit 0');
   undef $w;
   my $pid = drain ($r);
   like ($pid, qr/^\d+\z/, "a child of the early template exits");
   set_blocking ($END_R, 1);
   my $line;
   # other children of the early template may have ended before
   do { $line = <$END_R> } until !defined $line || $line eq "END in $pid\n";
   is ($line, "END in $pid\n", "the main program's END block ran in that child");
}

# when the early process exits, its socket reaches end-of-file at once, even
# while a process forked from it still runs (which must not hold a copy of
# the early process's socket)
{
   my $c = $EARLY0->fork;
   $c->eval ('sub blocker { syswrite $_[0], "r"; sysread $_[0], my $buf, 1 }')->run ("blocker", my $cv = AE::cv);
   my $cfh = $cv->recv;
   is (read_exactly ($cfh, 1), "r", "a process forked from the early template runs");
   my $st = watch_child ($EARLY0->pid);
   $EARLY0->eval ('exit 0');
   is ($st->recv, 0, "the early process exits with status 0");
   set_blocking ($EARLY0->[1], 0);
   my $n = sysread $EARLY0->[1], my $buf, 1;
   is ($n, 0, "... and its socket is at end-of-file at once, while the forked process lives on")
      or diag "sysread: $!";
   close $cfh;
}

# undef $EARLY: new_exec executes perl again
{
   undef $AnyEvent::Fork::EARLY;
   my $p = AnyEvent::Fork->new_exec;
   ok (defined $p->pid, 'with $EARLY undef, new_exec executes a new perl (pid defined)');
   ok (defined $AnyEvent::Fork::PERL, '... which computes $AnyEvent::Fork::PERL');
   is (report ($p, '$0'), "$$ aefh_report", "... and the process works");
}

done_testing;
