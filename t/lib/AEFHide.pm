package AEFHide;

# Makes modules look uninstalled, to run the suite as a machine without the
# optional ones would (nothing is uninstalled):
#
#   PERL5OPT="-I$PWD/t/lib -MAEFHide=EV,JSON" make test
#
# The hook goes first in @INC, and PERL5OPT carries it into every perl the
# tests start; a require of a hidden module dies as for a missing one. This
# module takes itself out of %INC, so tests of what a process has loaded
# do not see it.

use strict;

sub import {
   my (undef, @names) = @_;
   my %hide = map { (my $f = "$_.pm") =~ s{::}{/}g; ($f => 1) } map { split /,/ } @names;
   unshift @INC, sub {
      my (undef, $file) = @_;
      die "Can't locate $file in \@INC (hidden by AEFHide)\n"
         if $hide{$file};
      return;
   };
   delete $INC{"AEFHide.pm"};
}

1
