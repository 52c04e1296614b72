# AnyEvent::Fork::Template (after the original's t/02_template.t): the
# variable is set, code sent to the template runs there, and buffered output
# of the template, when code makes it exit, is flushed before its socket
# reaches end-of-file.
use strict;
use lib "t/lib";
use AEFTest timeout => 30;

# state of the main program captured by the template
our $STATE;
BEGIN { $STATE = "before the template" }

# compiled before the template is forked, so it exists in it
sub worker {
   my ($fh, @args) = @_;
   syswrite $fh, join "\n", "W=$^W", "0=$0", "STATE=$STATE", map "ARG=$_", @args;
}

# warnings are globally on here; the Serve loop turns them off for the code
# it evaluates (as the original does)
BEGIN { $^W = 1 }

use AnyEvent::Fork::Template;

BEGIN { $^W = 0; $STATE = "after the template" }

use Test::More;
use AEFHelp;

my $proc = $AnyEvent::Fork::Template;

ok ($proc, 'use AnyEvent::Fork::Template sets $AnyEvent::Fork::Template');
isa_ok ($proc, "AnyEvent::Fork");
ok (!defined $AnyEvent::Fork::TEMPLATE, '$AnyEvent::Fork::TEMPLATE (upper case) stays undef');
ok (!$AnyEvent::Fork::EARLY, '$AnyEvent::Fork::EARLY stays false');
ok (defined $proc->pid, "the template has a pid");
is (proc_ppid ($proc->pid), $$, "... and is a child of the main program");

# a run function of the main program, in a process forked from the template
{
   $proc->fork->send_arg ("a1", "a2")->run ("worker", my $cv = AE::cv);
   my $out = slurp ($cv->recv);
   is ($out, join ("\n", "W=1", "0=$$ worker", "STATE=before the template", "ARG=a1", "ARG=a2"),
       "a function compiled before the template runs in a fork of it, with the state of that moment and \$^W restored");
}

# inside the Serve loop: $0, $^W
{
   pipe my $r, my $w or die;
   my $p = $proc->fork;
   $p->send_fh ($w)->eval ('syswrite $arg[0], "$0|$^W|$main::STATE\n"');
   $proc->send_fh ($w)->eval ('syswrite $arg[-1], "$0|$^W|$main::STATE\n"; pop @arg');
   undef $w;
   flush_queue ($_) for $p, $proc;
   undef $p;
   my %lines = map { $_ => 1 } split /\n/, slurp ($r);
   is_deeply (\%lines, {
      "$$ AnyEvent::Fork/exec|0|before the template" => 1,
      "$$ AnyEvent::Fork|0|before the template" => 1,
   }, '$0 of the template and of a fork of it; $^W is 0 in evaluated code');
}

# the original's test: a buffered print, then exit; the output (the next TAP
# line) is flushed before the socket reaches end-of-file
{
   my $tb = Test::More->builder;
   my $n = $tb->current_test + 1;
   my $st = watch_child ($proc->pid);
   $proc->eval ('print "ok $_[0] - buffered output of the template is flushed before end-of-file\n"; exit 0', $n);
   my $cv = AE::cv;
   my $io = AE::io $proc->[1], 0, $cv;
   $cv->recv;
   $tb->current_test ($n);
   is (sysread ($proc->[1], my $buf, 1), 0, "the template's exit is end-of-file on [1]");
   is ($st->recv, 0, "the template exited with status 0");
}

done_testing;
