# AnyEvent::Fork->new without Early (after the original's t/03_new.t).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use Test::More;
use AEFHelp;

use AnyEvent::Fork;
use AnyEvent::Util;

ok (!defined $AnyEvent::Fork::TEMPLATE, '$TEMPLATE is undef before the first new');

my $proc = new AnyEvent::Fork;

ok ($proc, "new AnyEvent::Fork returns an object");
ok ($AnyEvent::Fork::TEMPLATE, '... and sets $AnyEvent::Fork::TEMPLATE');
ok (!$AnyEvent::Fork::EARLY, '... but leaves $AnyEvent::Fork::EARLY false');
ok (defined $AnyEvent::Fork::TEMPLATE->pid, "the template was made by new_exec (pid defined)");
ok (!defined $proc->pid, "the new process is no child of ours (pid undef)");

ok ((my ($r, $w) = AnyEvent::Util::portable_pipe), "a pipe");

$proc->send_fh ($w);
$proc->eval ('syswrite $arg[0], "173"');
undef $w; # the queue keeps the handle until it is sent

{ my $w = AE::io $r, 0, my $cv = AE::cv; $cv->recv }
ok (1, "the child wrote to the pipe");

undef $proc; # the child exits once it has read everything
ok (1, "the object can be dropped");

$r = <$r>;
is ($r, "173", "the pipe delivers exactly the written bytes, then end-of-file (no stray copy of the write end)");

# a second new reuses the template
my $t = $AnyEvent::Fork::TEMPLATE;
my $p2 = AnyEvent::Fork->new;
is ($AnyEvent::Fork::TEMPLATE, $t, "a second new reuses the template");
is (report ($p2, 'getppid'), $t->pid, "... and forks it");

done_testing;
