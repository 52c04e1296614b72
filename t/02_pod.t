# The documentation: every module and POD file under lib/ passes
# Pod::Checker without errors or warnings, and the modules of the
# AnyEvent::Fork family share one section layout.
use strict;
use warnings;
use Test::More;
use File::Find ();

eval { require Pod::Checker; 1 }
   or plan skip_all => "Pod::Checker is not installed";

my @files;
File::Find::find ({ no_chdir => 1, wanted => sub { push @files, $_ if /\.(?:pm|pod)\z/ } }, "lib");
@files = sort @files;

ok (scalar @files >= 9, "found the modules under lib/ (" . scalar @files . ")");

# Pod::Checker prints its findings; they go to the test's diagnostics
for my $file (@files) {
   my $out = "";
   open my $fh, ">", \$out or die "in-memory handle: $!";
   my $checker = Pod::Checker->new (-warnings => 2);
   $checker->parse_from_file ($file, $fh);
   close $fh;

   # num_errors is -1 when the file has no POD at all
   ok ($checker->num_errors == 0 && $checker->num_warnings == 0,
       "$file: has POD, without errors or warnings")
      or diag $checker->num_errors < 0 ? "$file has no POD" : $out;
}

# the layout of the family: these sections, in this order (others may be
# between them)
my @layout = ("NAME", "SYNOPSIS", "DESCRIPTION", "CONCEPTS", "EXAMPLES",
              "TYPICAL PROBLEMS", "DIFFERENCES FROM THE ORIGINAL",
              "SEE ALSO", "AUTHOR", "LICENSE");

for my $mod (qw(
   AnyEvent/Fork.pm AnyEvent/Fork/Serve.pm AnyEvent/Fork/Early.pm
   AnyEvent/Fork/Template.pm AnyEvent/Fork/RPC.pm AnyEvent/Fork/RPC/Sync.pm
   AnyEvent/Fork/RPC/Async.pm AnyEvent/Fork/Pool.pm AnyEvent/Fork/Core.pm
   AnyEvent/Fork/Remote.pm
)) {
   open my $fh, "<", "lib/$mod" or die "lib/$mod: $!";
   my @head = map /^=head1\s+(.*?)\s*$/ ? $1 : (), <$fh>;
   my @order = grep { my $l = $_; grep $_ eq $l, @layout } @head;
   is ("@order", "@layout", "$mod: the family's sections, in order")
      or diag "sections: @head";
}

done_testing;
