# Every program in the EXAMPLES sections of the modules' POD runs to the
# end, exits with status 0 and prints something, under the AnyEvent model
# of this run (make test runs the suite under EV and under the pure-Perl
# loop). An example needing an optional module that is missing is skipped.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 240;
use Test::More;
use AEFHelp;
use File::Find ();
use File::Temp ();

$AEFHelp::TIMEOUT = 60; # per example

my @files;
File::Find::find ({ no_chdir => 1, wanted => sub { push @files, $_ if /\.pm\z/ } }, "lib");

# ($name, $code) of each "=head2" under "=head1 EXAMPLES": its verbatim
# paragraphs (indented by three spaces) make one program
my @examples;
for my $file (sort @files) {
   open my $fh, "<", $file or die "$file: $!";
   my ($in, $name, $code) = (0);
   my $done = sub {
      push @examples, ["$file: $name", $code] if defined $name && $code =~ /\S/;
      ($name, $code) = (undef, "");
   };
   while (<$fh>) {
      if (/^=head1\s+(.*?)\s*$/) { $done->(); $in = $1 eq "EXAMPLES"; next }
      next unless $in;
      if (/^=head2\s+(.*?)\s*$/) { $done->(); $name = $1; next }
      next if /^=/ || !defined $name;
      $code .= /^   (.*)/s ? $1 : /^\s*$/ ? "\n" : "";
   }
   $done->();
}

ok (scalar @examples >= 15, "found the POD examples (" . scalar @examples . ")");

my $dir = File::Temp->newdir;
my $n = 0;

for (@examples) {
   my ($name, $code) = @$_;

   # the modules it loads, and the optional serialisers it names
   my @need = $code =~ /^\s*(?:use|require)\s+([A-Z][\w:]*)/mg;
   push @need, $code =~ /->require \("([\w:]+)"\)/g;
   push @need, "JSON"     if $code =~ /JSON_SERIALISER/;
   push @need, "CBOR::XS" if $code =~ /CBOR_XS_SERIALISER/;
   my @missing = grep !eval "require $_; 1", @need;

 SKIP: {
      skip "$name: needs @missing", 1 if @missing;

      my $file = "$dir/example" . ++$n . ".pl";
      open my $fh, ">", $file or die "$file: $!";
      print $fh $code;
      close $fh;

      my ($status, $out, $err) = run_cmd ({}, perl_cmd ($file));
      ok ($status == 0 && length $out, "$name: exits with status 0 and prints")
         or diag "status $status\nstdout: $out\nstderr: $err";
   }
}

done_testing;
