# The distribution claims perl 5.8.1 (MIN_PERL_VERSION in Makefile.PL):
# no module, example or test helper may use newer syntax. Perl::MinimumVersion
# finds most of it; the constructs it does not know (${^GLOBAL_PHASE},
# s///r, \K and named captures, package blocks, autoderef of keys/push...,
# "use parent") are looked for here in the code it parses (comments and POD
# ignored). Only the perl installed here can run the suite; this is how the
# floor is kept without an old perl at hand.
use strict;
use warnings;
use Test::More;
use File::Find ();

BEGIN {
   eval { require Perl::MinimumVersion; 1 }
      or plan skip_all => "Perl::MinimumVersion is not installed (Debian: libperl-minimumversion-perl)";
}

my $FLOOR = version->parse ("5.008001");

# every construct newer than the floor in one document: "LINE: WHAT (VERSION)"
sub newer {
   my ($src) = @_;
   my $pmv = Perl::MinimumVersion->new ($src)
      or return "0: cannot parse (" . (PPI::Document->errstr || "?") . ")";
   my $doc = $pmv->Document;
   my @found;
   my $at = sub { my ($el, $what, $v) = @_; push @found, ($el->line_number || 0) . ": $what ($v)" };

   # Perl::MinimumVersion's own checks, each giving its first offender
   my $explicit = $pmv->minimum_explicit_version;
   push @found, "0: use/require of perl $explicit" if $explicit && $explicit > $FLOOR;
   for my $check (sort keys %Perl::MinimumVersion::CHECKS) {
      my $v = $Perl::MinimumVersion::CHECKS{$check};
      next unless $v > $FLOOR;
      my $el = $pmv->$check or next;
      $at->(ref $el ? $el : $doc, $check, $v);
   }

   for my $tok (@{ $doc->find ("PPI::Token") || [] }) {
      my $c = $tok->content;
      if ($tok->isa ("PPI::Token::Magic") && $c eq '${^GLOBAL_PHASE}') {
         $at->($tok, '${^GLOBAL_PHASE}', "5.014");
      } elsif ($tok->isa ("PPI::Token::Regexp::Substitute") && $tok->get_modifiers->{r}) {
         $at->($tok, "s///r", "5.014");
      } elsif ($tok->isa ("PPI::Token::Regexp") || $tok->isa ("PPI::Token::QuoteLike::Regexp")) {
         $at->($tok, '\K', "5.010") if $c =~ /(?<!\\)(?:\\\\)*\\K/;
         $at->($tok, "named capture", "5.010") if $c =~ /\(\?P?<\w|\\k[<{']|\\g\{/;
      } elsif ($tok->isa ("PPI::Token::Word") && $c =~ /\A(?:keys|values|each|push|pop|shift|unshift|splice)\z/) {
         my $next = $tok->snext_sibling;
         $at->($tok, "$c on a reference", "5.014")
            if $next && $next->isa ("PPI::Token::Symbol") && $next->raw_type eq '$';
      }
   }
   for my $pkg (@{ $doc->find ("PPI::Statement::Package") || [] }) {
      $at->($pkg, "package NAME BLOCK", "5.014") if $pkg->find_first ("PPI::Structure::Block");
   }
   for my $use (@{ $doc->find ("PPI::Statement::Include") || [] }) {
      $at->($use, "use parent", "5.010001") if ($use->module || "") eq "parent";
   }

   map $_->[1], sort { $a->[0] <=> $b->[0] } map [/^(\d+)/, $_], @found
}

# the checker sees each construct (else this test could never fail)
{
   my $bad = join "", map "$_\n",
      'my $x = ${^GLOBAL_PHASE};', 'my $y = $x =~ s/a/b/r;', '$x =~ /a\Kb/;', '$x =~ /(?<n>a)/;',
      'package Foo { 1 }', 'use parent "Exporter";', 'my @k = keys $x;', 'push $x, 1;',
      'my $z = $x // 1;', 'state $s = 1;', '# ${^GLOBAL_PHASE} in a comment is fine', '1;';
   my @got = newer (\$bad);
   my %line = map { /^(\d+):/; ($1 => 1) } @got;
   is_deeply ([sort { $a <=> $b } keys %line], [1 .. 10], "the checker finds each newer construct, not the comment")
      or diag explain \@got;
   is_deeply ([newer (\"my \$x = defined \$y ? \$y : 1;\nour \@ISA = 'Exporter';\n")], [], "and nothing in 5.8 code");
}

my @files;
File::Find::find (sub { push @files, $File::Find::name if /\.pm\z/ }, "lib", "t/lib");
push @files, glob "examples/*.pl";
@files = sort @files;

ok (scalar @files > 10, "there are files to check (" . @files . ")");
for my $file (@files) {
   my @newer = newer ($file);
   is ("@newer", "", "$file: nothing newer than perl 5.8.1")
      or diag map "$file:$_\n", @newer;
}

done_testing;
