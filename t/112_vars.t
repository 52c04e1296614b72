# Package variables: $PERL (computation rule, user value kept, exact exec
# command line and environment), $TEMPLATE, $EARLY, and PERL5LIB
# propagation: an executed perl gets the parent's @INC as PERL5LIB (see
# "PACKAGE VARIABLES" and new_exec in AnyEvent::Fork's POD).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use AEFHelp;

use Config;
use File::Spec;
use File::Temp ();
use AnyEvent;
use AnyEvent::Fork;

ok (!defined $AnyEvent::Fork::PERL, '$PERL is undef until first needed');
ok (!defined $AnyEvent::Fork::TEMPLATE, '$TEMPLATE is undef at first');
ok (!defined $AnyEvent::Fork::EARLY, '$EARLY is undef without AnyEvent::Fork::Early');
ok (!defined $AnyEvent::Fork::Template, '$Template is undef without AnyEvent::Fork::Template');

my $realperl = $^X;
my $perlpath = $Config{perlpath} . ($Config{perlpath} =~ /\Q$Config{_exe}\E$/i ? "" : $Config{_exe});

{
   my $p = AnyEvent::Fork->new_exec;
   is ($AnyEvent::Fork::PERL, $^X, 'the first new_exec sets $PERL to $^X (an absolute path ending in perl)');
   is (report ($p, '$^X'), $^X, "... and runs it");
}

# the computation rule, case by case: a matching $^X is used even when it
# does not exist (new_exec then fails), anything else gives $Config{perlpath}
for my $case (
   [ "/nonexistent/dir/perl"          => 1 ],
   [ "/nonexistent/dir/perl5.36"      => 1 ],
   [ "/nonexistent/dir/perl5.36.0"    => 1 ],
   [ "/nonexistent/dir/PERL"          => 1 ],
   [ "/nonexistent/dir/Perl5.36.0.EXE"=> 1 ],
   [ "/nonexistent/dir/perl.exe"      => 1 ],
   [ "perl"                           => 0 ],
   [ "./perl"                         => 0 ],
   [ "nonexistent/dir/perl"           => 0 ],
   [ "/nonexistent/dir/perl5"         => 0 ],
   [ "/nonexistent/dir/myperl"        => 0 ],
   [ "/nonexistent/dir/perl-5.36"     => 0 ],
   [ "/nonexistent/dir/perlx"         => 0 ],
   [ "/nonexistent/perl/bin"          => 0 ],
) {
   my ($x, $match) = @$case;
   undef $AnyEvent::Fork::PERL;
   local $^X = $x;
   my $p = eval { AnyEvent::Fork->new_exec };
   if ($match) {
      is ($AnyEvent::Fork::PERL, $x, "\$^X = '$x' is used as \$PERL");
      like ($@, qr/^unable to spawn AnyEvent::Fork server: No such file or directory at /, "... so new_exec fails to spawn it");
   } else {
      is ($AnyEvent::Fork::PERL, $perlpath, "\$^X = '$x' is not used: \$PERL is \$Config{perlpath}");
      ok ($p && defined $p->pid, "... and new_exec works") or diag $@;
   }
}

# a value set by the user is used and never recomputed; the exact command
# line and environment of the exec, recorded by a small C program that then
# executes perl with the same argv
SKIP: {
   my $dir = File::Temp->newdir;
   open my $c, ">", "$dir/rec.c" or die;
   print $c <<'C';
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
extern char **environ;
int main (int argc, char **argv)
{
  FILE *f = fopen (getenv ("AEFT_REC"), "w");
  const char *lib = getenv ("PERL5LIB");
  DIR *d = opendir ("/proc/self/fd");
  struct dirent *e;
  int i;
  if (!f || !d) return 126;
  for (i = 0; i < argc; i++)
    fprintf (f, "%s\n", argv[i]);
  fprintf (f, "PERL5LIB=%s\n", lib ? lib : "(unset)");
  fprintf (f, "FDFLAGS=%d\n", argc > 4 ? fcntl (atoi (argv[4]), F_GETFD) : -2);
  for (i = 0; environ[i]; i++)
    fprintf (f, "ENV=%s\n", environ[i]);
  fprintf (f, "FDS=");
  while ((e = readdir (d)))
    if (e->d_name[0] != '.' && atoi (e->d_name) != dirfd (d) && atoi (e->d_name) != fileno (f))
      fprintf (f, "%s ", e->d_name);
  fprintf (f, "\n");
  fclose (f);
  closedir (d);
  execv (getenv ("AEFT_REAL"), argv);
  return 127;
}
C
   close $c;
   my $cc = $Config{cc};
   system ("$cc -o $dir/rec $dir/rec.c 2>/dev/null") == 0
      or skip "cannot compile a C program with $cc", 15;

   local $ENV{AEFT_REC} = "$dir/rec.out";
   local $ENV{AEFT_REAL} = $realperl;
   local $AnyEvent::Fork::PERL = "$dir/rec";

   # a reference in @INC is not passed on (and the directories are
   # absolute here: see below for relative ones)
   local @INC = ((map { ref $_ ? $_ : File::Spec->rel2abs ($_) } @INC), sub { return });
   my $lib = join ":", grep !ref, @INC;

   cloexec_inherited (); # what we inherited ourselves is not the product's business
   pipe my $r, my $w or die; # must not be inherited

   my $p = AnyEvent::Fork->new_exec;
   is ($AnyEvent::Fork::PERL, "$dir/rec", 'a $PERL set by the user is used and kept');
   my $out = report ($p, 'join "\n", $0, fileno $aefh_fh');
   my ($name, $fd) = split /\n/, $out;
   is ($name, "$$ aefh_report", "the recorder executed perl, which served commands");

   open my $rec, "<", "$dir/rec.out" or die "$dir/rec.out: $!";
   my @rec = map { chomp; $_ } <$rec>;
   is ($rec[0], "$dir/rec", 'argv[0] is $PERL');
   is_deeply ([@rec[1..3]], ["-MAnyEvent::Fork::Serve", "-e", "AnyEvent::Fork::Serve::me"], "argv[1..3]: -MAnyEvent::Fork::Serve -e AnyEvent::Fork::Serve::me");
   is ($rec[4], $fd, "argv[4] is the descriptor of the child's socket");
   is ($rec[5], $$, "argv[5] is the pid of the parent (OWNER)");
   is ($rec[6], "PERL5LIB=$lib", "PERL5LIB is \@INC without references, joined with ':'");
   is ($rec[7], "FDFLAGS=0", "the child's socket is open and inheritable at exec");
   my @env = sort map /^ENV=(.*)/s, @rec;
   # (and LD_BIND_NOW for the template's start-up only, see t/142_bind_now.t)
   my %want = (%ENV, PERL5LIB => $lib, LD_BIND_NOW => "AnyEvent::Fork::Serve");
   delete $want{LD_BIND_NOW} if exists $ENV{LD_BIND_NOW};
   is_deeply (\@env, [sort map "$_=$want{$_}", keys %want], "the environment is a copy of %ENV with PERL5LIB replaced (and LD_BIND_NOW added), nothing else");
   is ($rec[-1], "FDS=0 1 2 $fd ", "the exec'd program gets only STDIN, STDOUT, STDERR and its socket");
   is (scalar @rec, 9 + @env, "nothing else in argv");

   $p = AnyEvent::Fork->new_exec;
   is (report ($p, '1'), 1, "a second new_exec works");
   is ($AnyEvent::Fork::PERL, "$dir/rec", '... and $PERL is still the user value');

   # the core found through a relative directory: loaded at once
   {
      local @INC = map { ref $_ ? $_ : File::Spec->abs2rel ($_) } @INC;
      is (report (AnyEvent::Fork->new_exec, '1'), 1, "relative \@INC: new_exec works");
   }
   open $rec, "<", "$dir/rec.out" or die "$dir/rec.out: $!";
   @rec = map { chomp; $_ } <$rec>;
   is_deeply ([@rec[1..4]], ["-mAnyEvent::Fork::Core", "-MAnyEvent::Fork::Serve", "-e", "AnyEvent::Fork::Serve::me"],
              "... argv[1..4]: -mAnyEvent::Fork::Core, then as before");
}

# other variables of the environment pass unchanged
{
   local $ENV{AEFT_SOME_VAR} = "some value";
   my $p = AnyEvent::Fork->new_exec;
   is (report ($p, '$ENV{AEFT_SOME_VAR}'), "some value", "the environment is passed on");
}

# PERL5LIB propagation: an exec'd child finds AnyEvent::Fork and the XS core
# where the parent found them, and can make processes itself
{
   my $p = AnyEvent::Fork->new_exec;
   my $out = report ($p, '
      require AnyEvent::Fork;
      require AnyEvent::Fork::Core;
      my $g = AnyEvent::Fork->new;
      $g->eval (q{sub rep { syswrite $_[0], "$0|$AnyEvent::Fork::Serve::OWNER|" . getppid } });
      $g->run ("rep", my $cv = AE::cv ());
      my $fh = $cv->recv;
      require AnyEvent::Util; AnyEvent::Util::fh_nonblocking ($fh, 0);
      my $n = 1; my $buf = "";
      $n = sysread $fh, $buf, 100, length $buf while $n;
      join "\n", $INC{"AnyEvent/Fork.pm"}, $INC{"AnyEvent/Fork/Core.pm"}, $buf, $$, $AnyEvent::Fork::TEMPLATE->pid
   ');
   my @o = split /\n/, $out;
   is ($o[0], $INC{"AnyEvent/Fork.pm"}, "an exec'd child loads the same AnyEvent::Fork");
   is ($o[1], $INC{"AnyEvent/Fork/Core.pm"}, "... and the same core");
   is ($o[2], "$o[3] rep|$o[3]|$o[4]", "... and makes its own processes (their OWNER is the child)");
}

# $TEMPLATE: created lazily by new, and a user-set template is used
{
   my $p = AnyEvent::Fork->new;
   ok ($AnyEvent::Fork::TEMPLATE, "new sets \$TEMPLATE");
   my $t = AnyEvent::Fork->new_exec;
   local $AnyEvent::Fork::TEMPLATE = $t;
   is (report (AnyEvent::Fork->new, 'getppid'), $t->pid, 'new forks a $TEMPLATE set by the user');
}

# $EARLY without AnyEvent::Fork::Early: assigning a new_exec result makes
# new_exec fork it; undef makes it execute again
{
   my $e = AnyEvent::Fork->new_exec;
   $AnyEvent::Fork::EARLY = $e;
   my $p = AnyEvent::Fork->new_exec;
   ok (!defined $p->pid, 'with $EARLY assigned, new_exec forks it (pid undef)');
   is (report ($p, 'getppid'), $e->pid, "... it is a child of \$EARLY");
   undef $AnyEvent::Fork::EARLY;
   $p = AnyEvent::Fork->new_exec;
   ok (defined $p->pid, 'with $EARLY undef again, new_exec executes perl');
   is (report ($p, 'getppid'), $$, "... as our child");
}

# a process forked from a template of a main program that had already made
# processes inherits $TEMPLATE; undef $EARLY/$TEMPLATE lets it make its own
{
   require AnyEvent::Fork::Template;
   ok ($AnyEvent::Fork::Template, "AnyEvent::Fork::Template loaded at run time");
   my $out = report ($AnyEvent::Fork::Template->fork, '
      my $inherited = $AnyEvent::Fork::TEMPLATE ? "inherited" : "none";
      undef $AnyEvent::Fork::EARLY;
      undef $AnyEvent::Fork::TEMPLATE;
      my $p = AnyEvent::Fork->new;
      $p->eval (q{sub rep { syswrite $_[0], getppid } })->run ("rep", my $cv = AE::cv ());
      my $fh = $cv->recv;
      require AnyEvent::Util; AnyEvent::Util::fh_nonblocking ($fh, 0);
      sysread $fh, my $buf, 100;
      join ",", $inherited, ($buf == $AnyEvent::Fork::TEMPLATE->pid ? "own" : "other:$buf")
   ');
   is ($out, "inherited,own", 'in such a child, undef $EARLY; undef $TEMPLATE makes new create its own template');
}

done_testing;
