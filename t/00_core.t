# The unit tests of the portable C core: every c/t/t_* program built by
# "make" prints TAP; each one becomes a subtest here.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 300;
use Test::More;
use AEFHelp;

my @prog = grep -f && -x, map { my $p = $_; $p =~ s/\.c\z//; $p } sort glob "c/t/t_*.c";
my @src  = sort glob "c/t/t_*.c";

ok (scalar @src, "there are C unit tests (c/t/t_*.c)");
is (scalar @prog, scalar @src, "every one of them is built (run make)")
   or diag "not built: @{[ grep { my $p = $_; $p =~ s/\.c\z//; !-x $p } @src ]}";

for my $prog (@prog) {
   local $AEFHelp::TIMEOUT = 60; # a hanging program fails its own subtest only
   my ($status, $out, $err) = run_cmd ({}, "./$prog");
   $out .= "# killed after $AEFHelp::TIMEOUT s\n" if ($status & 127) == 9;
   note $err if length $err;
   tap_subtest ($prog, $status, $out);
}

done_testing;
