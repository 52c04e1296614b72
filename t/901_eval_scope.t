# Regressions: what code sent with eval can see.
#  - @arg must be visible (it was not, once: the named sub that runs the
#    string eval did not capture the lexical);
#  - the loop's other lexicals (socket, command, payload, error, ...) are
#    not visible (the original exposed them; nothing relies on it, so this
#    distribution hides them).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use Test::More;
use AEFHelp;

use AnyEvent;
use AnyEvent::Fork;

# what the evaluated code sees, reported through run
my $PROBE = q{
   my @r = (scalar @arg, join "/", map { ref $_ ? "FH" : $_ } @arg);
   for my $name (qw($master $fh $cmd $buf $error $fd $pid $len @ret $code)) {
      push @r, "$name=" . (eval "use strict; no warnings; my \$x = scalar (" . $name . "); 1" ? "visible" : "hidden");
   }
   push @r, "defined_master=" . (defined eval 'no strict; $master' ? "yes" : "no");
   push @r, "args=" . join "/", @_;
   $main::PROBE = join ",", @r;
};

sub probe {
   my ($proc, $what) = @_;
   pipe my $r, my $w or die;
   $proc->send_arg ("s1")->send_fh ($w)->send_arg ("s2");
   undef $w;
   $proc->eval ($PROBE, "e1", "e2");
   my $got = report ($proc, '$main::PROBE');
   is ($got, "3,s1/FH/s2," . join (",", map "$_=hidden", qw($master $fh $cmd $buf $error $fd $pid $len @ret $code)) . ",defined_master=no,args=e1/e2",
       "$what: evaluated code sees \@arg and \@_, and none of the loop's other lexicals");
}

probe (AnyEvent::Fork->new_exec, "new_exec child");
probe (AnyEvent::Fork->new, "fork of the template");
probe (AnyEvent::Fork->new->fork, "fork of a fork");

{
   require AnyEvent::Fork::Template;
   probe ($AnyEvent::Fork::Template->fork, "fork of a template of the main program");
}

# a strict-vars error is reported like any eval error (and the names are not
# even known to the compiler)
{
   my $p = AnyEvent::Fork->new_exec;
   my $st = watch_child ($p->pid);
   pipe my $r, my $w or die;
   $p->send_fh ($w)->eval ('open STDERR, ">&", $arg[-1] or die; close pop @arg');
   undef $w;
   $p->eval ('use strict; my $x = $master;');
   my $err = drain ($r);
   like ($err, qr/^\[$$ AnyEvent::Fork\/exec\] ERROR: Global symbol "\$master" requires explicit package name/,
         '"use strict; $master" in evaluated code: a strict-vars error');
   is ($st->recv, 0, "... reported like any eval error (status 0)");
}

# @arg is the live argument list: changes made by evaluated code are seen by
# later commands, run_args and the run function
{
   my $p = AnyEvent::Fork->new;
   $p->send_arg ("a", "b", "c")->eval ('shift @arg; push @arg, "pushed"')->eval ('$main::SEEN = join "/", @arg, AnyEvent::Fork::Serve::run_args ()');
   is (report ($p, 'join ",", $main::SEEN, @_'), "b/c/pushed/b/c/pushed,b,c,pushed",
       "changes to \@arg persist: later evals, run_args and the run function see them");
}

done_testing;
