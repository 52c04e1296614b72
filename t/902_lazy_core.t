# Regression: an exec'd child loads the C core only when the first
# descriptor arrives. That must work whatever the child did before, e.g.
# change directory with relative directories in @INC (as "perl -Ilib" gives)
# (the original loads its IO::FDPass the same lazy way, but from where it is
# installed, an absolute path).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use Test::More;
use AEFHelp;

use File::Spec;
use AnyEvent;
use AnyEvent::Fork;

sub sends_after {
   my ($code, $what, $relative) = @_;
   my $p = do {
      local @INC = map { ref $_ ? $_ : $relative ? File::Spec->abs2rel ($_) : File::Spec->rel2abs ($_) } @INC;
      AnyEvent::Fork->new_exec
   };
   $p->eval ($code);
   pipe my $r, my $w or die;
   $p->send_fh ($w)->eval ('syswrite $arg[0], "arrived"; close pop @arg');
   undef $w;
   is (drain ($r), "arrived", $what);
}

# the parent decides: found through a relative directory, the core is
# loaded at start-up (-mAnyEvent::Fork::Core); else not before it is needed
for my $relative (1, 0) {
   my $p = do {
      local @INC = map { ref $_ ? $_ : $relative ? File::Spec->abs2rel ($_) : File::Spec->rel2abs ($_) } @INC;
      AnyEvent::Fork->new_exec
   };
   is (report ($p, 'defined &AnyEvent::Fork::Core::serve_next ? 1 : 0'), $relative,
       ($relative ? "relative" : "absolute") . " \@INC: the core is " . ($relative ? "" : "not ") . "loaded before the first descriptor");
}

sends_after ('chdir "/" or die "chdir: $!"', "relative \@INC, chdir in evaluated code, then the first send_fh", 1);
sends_after ('chdir "/" or die "chdir: $!"', "absolute \@INC, chdir, then the first send_fh");

# the same through fork (the h+f pair needs the core as well)
{
   my $p = do {
      local @INC = map { ref $_ ? $_ : File::Spec->abs2rel ($_) } @INC;
      AnyEvent::Fork->new_exec
   };
   $p->eval ('chdir "/" or die "chdir: $!"');
   is (report ($p->fork, '"forked"'), "forked", "relative \@INC, chdir, then fork");
}

# perl's stub for CORE::exit (what ->run ("CORE::exit") calls) is built
# by the template at its first fork, for all its children, and not by an
# executed perl that is never forked
{
   my $has = '(exists $CORE::{exit} && ref \$CORE::{exit} eq "GLOB" && *{$CORE::{exit}}{CODE} ? "stub" : "none")';
   my $t = AnyEvent::Fork->new_exec;
   $t->eval ('$AEFT::before = ' . $has);
   my $c = $t->fork;
   is (report ($t, '"$AEFT::before, " . ' . $has), "none, stub", "CORE::exit stub: none at start-up, built by the template's first fork");
   is (report ($c, $has), "stub", "... and a forked child has it");
}

done_testing;
