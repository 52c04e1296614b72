# The unit tests of the portable C core: every c/t/t_* program built by
# "make" prints TAP; each one becomes a subtest here, and so does its twin
# c/t/t_*-fallback, built with every platform fallback forced (see c/aef.h).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 300;
use Test::More;
use AEFHelp;

my @src  = sort glob "c/t/t_*.c";
my @want = map { (my $p = $_) =~ s/\.c\z//; ($p, "$p-fallback") } @src;
my @prog = grep -f && -x, @want;

ok (scalar @src, "there are C unit tests (c/t/t_*.c)");
is (scalar @prog, scalar @want, "every one of them is built, plain and with the fallbacks (run make)")
   or diag "not built: @{[ grep !-x, @want ]}";

# c/Makefile is a POSIX makefile: it names its sources, and must name all
{
   open my $fh, "<", "c/Makefile" or die "c/Makefile: $!";
   my $mk = do { local $/; <$fh> };
   my %listed = map +($_ => 1), $mk =~ /(\S+\.c)\b/g;
   my @unlisted = grep !$listed{substr $_, 2}, sort glob "c/aef_*.c c/t/t_*.c";
   is ("@unlisted", "", "c/Makefile lists every c/aef_*.c and c/t/t_*.c");
}

for my $prog (@prog) {
   local $AEFHelp::TIMEOUT = 60; # a hanging program fails its own subtest only
   my ($status, $out, $err) = run_cmd ({}, "./$prog");
   $out .= "# killed after $AEFHelp::TIMEOUT s\n" if ($status & 127) == 9;
   note $err if length $err;
   tap_subtest ($prog, $status, $out);
}

done_testing;
