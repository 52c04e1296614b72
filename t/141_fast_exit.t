# The exit hook of processes forked from a template: END blocks, DESTROY
# and buffered output (PerlIO handles, a stdio handle) all still happen,
# the exit status is perl's, and C-level exit work (here: the destructor of
# a shared library loaded in the child) is skipped. Turned off by the
# environment variable or by AnyEvent::Fork::Core::fast_exit (0), the
# process exits through C's exit() again. Without objects to destroy the
# child ends right after its END blocks (fast_exit_early tells when), with
# the same results; a class with only an AUTOLOAD still gets its call, and
# a process at the other end of a pipe is still waited for.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp;

use Test::More;
use Config;
use File::Temp ();

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::Core;

my $dir = File::Temp->newdir;

# a shared library whose ELF destructor leaves a mark, so that the test
# sees whether C's exit ran
my $lib;
{
   open my $c, ">", "$dir/mark.c" or die "$dir/mark.c: $!";
   print $c <<'C';
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((destructor)) static void mark (void)
{
  char p[4096];
  int fd;
  snprintf (p, sizeof p, "%s/mark.%ld", AEF_MARK_DIR, (long)getpid ());
  fd = open (p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) { write (fd, "exit\n", 5); close (fd); }
}
C
   close $c;
   $lib = "$dir/mark.$Config{dlext}";
   undef $lib
      if system ("$Config{cc} $Config{cccdlflags} $Config{lddlflags} -DAEF_MARK_DIR='\"$dir\"' -o $lib $dir/mark.c >/dev/null 2>&1");
}

sub slurp_file {
   my ($file) = @_;
   open my $fh, "<", $file or return undef;
   local $/;
   <$fh>
}

# The child: output on STDOUT, STDERR and a :stdio handle, none flushed; an
# END block and a DESTROY that print; then it reports its pid, waits for a
# byte and exits with $code (or dies, for "die"), $end_status set by END.
my $CHILD = q{
   sub Obj::DESTROY { print STDOUT "destroy\n"; print $main::S "stdio destroy\n" }
   sub go {
      my ($fh, $dir, $lib, $code, $end_status, $obj) = @_;
      open STDOUT, ">", "$dir/out" or die;
      open STDERR, ">", "$dir/err" or die;
      open $main::S, ">:stdio", "$dir/stdio" or die;
      if (length $lib) { require DynaLoader; DynaLoader::dl_load_file ($lib, 0) or die }
      $main::OBJ = bless [], "Obj" if $obj;
      eval q{ END { print STDOUT "end\n"; print STDERR "err end"; $? = $main::END_STATUS if defined $main::END_STATUS } 1 } or die;
      $main::END_STATUS = $end_status if length $end_status;
      print STDOUT "main\n";
      print STDERR "err main ";
      print $main::S "stdio main\n";
      $main::ON = AnyEvent::Fork::Core::fast_exit ();
      syswrite $fh, pack "N", $$;
      sysread $fh, my $buf, 1;
      die "died\n" if $code eq "die";
      exit $code;
   }
};

# one child of $template, which exits; returns the folder of its output
# (the template keeps its exit status in $main::STATUS)
sub child {
   my ($template, $name, $code, $end_status, $obj) = @_;

   my $sub = "$dir/$name";
   mkdir $sub or die "$sub: $!";

   $template->fork->eval ($CHILD)->send_arg ($sub, $lib // "", $code, $end_status // "", $obj)
      ->run ("go", my $cv = AE::cv);
   my $fh = $cv->recv;
   my $pid = unpack "N", read_exactly ($fh, 4);
   # it exits once the template waits for its next command, so that the
   # template's own reaping before it reads a command cannot reap it first
   wait_reading ($template->pid);
   syswrite $fh, "x";
   slurp ($fh);

   # the template reaps its children before it reads each command: this one
   # is reaped by the evaluated code itself
   $template->eval ("waitpid $pid, 0; \$main::STATUS = \$?");

   ($sub, $pid)
}

my @cases = (
   # name, exit code, status set by END, expected status
   ["exit0", 0, undef, 0],
   ["exit7", 7, undef, 7 << 8],
   ["end3",  0, 3,     3 << 8],
   ["die",   "die", undef, 255 << 8],
);

for my $mode (
   ["on",       undef, undef],
   ["env off",  0,     undef],
   ["call off", undef, 'require AnyEvent::Fork::Core; AnyEvent::Fork::Core::fast_exit (0)'],
) {
   my ($mname, $env, $eval) = @$mode;
   my $on = $mname eq "on";
   (my $tag = $mname) =~ s/ /_/g;

   for my $case (@cases) {
      for my $obj (1, 0) {
         my ($cname, $code, $end_status, $want) = @$case;
         $cname .= $obj ? "" : ", no object";

         my $t = do {
            local $ENV{PERL_ANYEVENT_FORK_FAST_EXIT} = $env if defined $env;
            AnyEvent::Fork->new_exec
         };
         $t->eval ($eval) if $eval;

         my ($d, $pid) = child ($t, "$tag-$cname", $code, $end_status, $obj);
         my $status = report ($t, '$main::STATUS');

         is $status, $want, "$mname, $cname: exit status";
         is slurp_file ("$d/out"), "main\nend\n" . ($obj ? "destroy\n" : ""),
            "$mname, $cname: STDOUT: main, END" . ($obj ? ", DESTROY" : "");
         is slurp_file ("$d/err"), ($code eq "die" ? "err main died\nerr end" : "err main err end"),
            "$mname, $cname: STDERR";
         is slurp_file ("$d/stdio"), "stdio main\n" . ($obj ? "stdio destroy\n" : ""),
            "$mname, $cname: stdio handle";
         SKIP: {
            skip "cannot build a shared library with $Config{cc}", 1 unless $lib;
            is slurp_file ("$dir/mark.$pid"), ($on ? undef : "exit\n"),
               $on ? "$mname, $cname: C exit skipped" : "$mname, $cname: C exit ran";
         }
      }
   }
}

# When the early exit is taken: fast_exit_early, in children of one
# template, after the code given (which leaves things for global
# destruction, or not)
{
   my $t = AnyEvent::Fork->new_exec->eval (q{
      package NoDestroy;
      package EmptyDestroy; sub DESTROY {}
      package Destroy;      sub DESTROY { $main::destroyed++ }
      package Inherits;     our @ISA = "Destroy";
      package Autoload;     sub AUTOLOAD { $main::autoloaded++ }
   });

   for (
      ["nothing",                  '', 1],
      ["object without DESTROY",   '$main::o = bless [], "NoDestroy"', 1],
      ["empty DESTROY",            '$main::o = bless [], "EmptyDestroy"', 1],
      ["qr// object",              '$main::o = qr/x/', 1],
      ["IO::Handle loaded",        'require IO::Handle; open $main::fh, "<", "/dev/null" or die', 1],
      ["object with DESTROY",      '$main::o = bless [], "Destroy"', 0],
      ["inherited DESTROY",        '$main::o = bless {}, "Inherits"', 0],
      ["AUTOLOAD only",            '$main::o = bless [], "Autoload"', 0],
      ["object in a closure",      'my $o = bless [], "Destroy"; $main::keep = sub { $o }', 0],
      ["object freed",             'my $o = bless [], "Destroy"; undef $o', 1],
      ["piped open",               'open $main::p, "|-", "cat" or die', 0],
      ["piped open, closed",       'open my $p, "|-", "cat" or die; close $p', 1],
      ["fast exit off",            'AnyEvent::Fork::Core::fast_exit (0)', 1],
   ) {
      my ($name, $code, $want) = @$_;
      is report ($t->fork, "$code; AnyEvent::Fork::Core::fast_exit_early ()"), $want, "fast_exit_early: $name";
   }
}

# what global destruction still does when there is something to do: the
# AUTOLOAD of a class without DESTROY runs, a process at the other end of a
# pipe is waited for (it writes a file after its input ends)
{
   my $t = AnyEvent::Fork->new_exec->eval (q{
      package Auto; sub AUTOLOAD { print STDOUT "$Auto::AUTOLOAD\n" }
      package main;
      sub auto { my ($fh, $dir) = @_; open STDOUT, ">", "$dir/auto" or die; $main::o = bless [], "Auto"; exit 0 }
      sub piped {
         my ($fh, $dir) = @_;
         open $main::p, "|-", "cat >$dir/piped; echo done >$dir/piped.done" or die;
         print {$main::p} "data\n";
         exit 0;
      }
   });

   for my $f ("auto", "piped") {
      $t->fork->send_arg ($dir)->run ($f, my $cv = AE::cv);
      slurp ($cv->recv);
   }
   # the template reaps both before it reads this
   $t->eval ("1 while waitpid (-1, 0) > 0");
   is report ($t, '1'), 1, "both children reaped";

   is slurp_file ("$dir/auto"), "Auto::DESTROY\n", "AUTOLOAD called for DESTROY";
   is slurp_file ("$dir/piped"), "data\n", "piped open: the data written";
   is slurp_file ("$dir/piped.done"), "done\n", "piped open: the process was waited for";
}

# the switch itself
is AnyEvent::Fork::Core::fast_exit (), 1, "fast_exit: on by default";
is AnyEvent::Fork::Core::fast_exit (0), 1, "fast_exit (0): returns the previous setting";
is AnyEvent::Fork::Core::fast_exit (), 0, "fast_exit: now off";
is AnyEvent::Fork::Core::fast_exit (1), 0, "fast_exit (1): returns the previous setting";
is AnyEvent::Fork::Core::fast_exit (), 1, "fast_exit: on again";

# a process forked by the child itself exits the ordinary way
SKIP: {
   skip "cannot build a shared library with $Config{cc}", 2 unless $lib;
   my $t = AnyEvent::Fork->new_exec;
   my $out = report ($t->fork->eval ('
      sub gc {
         my ($lib) = @_;
         require DynaLoader;
         DynaLoader::dl_load_file ($lib, 0) or die;
         my $pid = fork;
         defined $pid or die "fork: $!";
         exit 5 unless $pid;
         waitpid $pid, 0;
         "$? $pid"
      }
   '), "gc (q\0$lib\0)");
   my ($status, $pid) = split / /, $out;
   is $status, 5 << 8, "grandchild: its exit status";
   is slurp_file ("$dir/mark.$pid"), "exit\n", "grandchild: exits through C's exit";
}

done_testing;
