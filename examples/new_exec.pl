#!/usr/bin/perl
# new_exec starts a fresh perl (no state inherited from this program) that
# finds the same modules through PERL5LIB. Its pid is known, so the caller
# can watch it with its own child watcher.
use strict;
use warnings;
use AnyEvent;
use AnyEvent::Fork;

my $proc = AnyEvent::Fork->new_exec;
my $pid  = $proc->pid;
print "started $AnyEvent::Fork::PERL as pid $pid\n";

my $cv = AE::cv;
my $cw = AE::child $pid, sub { $cv->send ($_[1] >> 8) };

$proc->eval ('print "child $$: \$0 is q<$0>, modules found through PERL5LIB\n"; require AnyEvent::Fork; exit 7');
undef $proc;

print "child exited with status ", $cv->recv, "\n";
