# Parent-side errors of AnyEvent::Fork: every text listed under "Error
# messages" in its POD, exactly,
# and how they reach the user under EV and under the pure-Perl model.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use AEFHelp;

use File::Temp ();
use POSIX ();
use AnyEvent;
use AnyEvent::Fork;

my $FILE = __FILE__;

# spawn failure: missing perl, perl that is not executable
{
   my @fds = my_fds;
   my @kids = children_of ($$);
   {
      local $AnyEvent::Fork::PERL = "/nonexistent/dir/perl";
      ok (!eval { AnyEvent::Fork->new_exec; 1 }, "new_exec with a missing perl dies");
      like ($@, qr/\Aunable to spawn AnyEvent::Fork server: No such file or directory at \S+ line \d+\.\n\z/, "... unable to spawn AnyEvent::Fork server: No such file or directory");
   }
   {
      my $tmp = File::Temp->new;
      chmod 0644, $tmp->filename;
      local $AnyEvent::Fork::PERL = $tmp->filename;
      ok (!eval { AnyEvent::Fork->new_exec; 1 }, "new_exec with a perl that is not executable dies");
      if ($> == 0) {
         # root may execute it (then the exec fails on the content)
         like ($@, qr/\Aunable to spawn AnyEvent::Fork server: (?:Permission denied|Exec format error) at \S+ line \d+\.\n\z/, "... unable to spawn AnyEvent::Fork server: \$!");
      } else {
         like ($@, qr/\Aunable to spawn AnyEvent::Fork server: Permission denied at \S+ line \d+\.\n\z/, "... unable to spawn AnyEvent::Fork server: Permission denied");
      }
   }
   is_deeply ([my_fds], \@fds, "failed spawns leave no descriptor behind");
   is_deeply ([children_of ($$)], \@kids, "... and no process (no zombie)");
}

# send_fh of something that is no open handle croaks at once, at the caller
{
   my $p = AnyEvent::Fork->new;
   pipe my $r, my $w or die;
   close $w;
   for my $case (["a closed handle", $w], ["a string", "not a handle"], ["undef", undef], ["a number", 1], ["a hash", {}]) {
      my ($what, $arg) = @$case;
      my $line = __LINE__; ok (!eval { $p->send_fh ($arg); 1 }, "send_fh of $what croaks");
      is ($@, "AnyEvent::Fork: file descriptor send failure: Bad file descriptor at $FILE line $line.\n", "... with the exact text, reported at the caller");
   }
   is (scalar @{ $p->[0] }, 0, "nothing was queued");
}

# command too long: needs a payload of 4 GiB
SKIP: {
   skip "AnyEvent::Fork: command too long needs a 4 GiB string; not allocated in a test", 1;
}

# errors inside the write watcher: die in the callback. Under the Perl model
# the die propagates out of the condvar wait; under EV it is printed as
# "EV: error in callback (ignoring): ..." (as with the original). Each case runs in a
# perl of its own, under both models.
my %script = (
   "command write failure" => q{
      $SIG{PIPE} = "IGNORE";
      my $p = child ();
      kill KILL => $p->pid;
      waitpid $p->pid, 0; # the loop has not run yet: nobody else reaps it
      $p->eval ("1")->run ("x", my $cv = AE::cv);
   },
   "handle closed before it was sent" => q{
      my $p = child ();
      pipe my $r, my $w or die;
      $p->send_fh ($w);
      close $w;
      $p->run ("x", my $cv = AE::cv);
   },
);
my %want = (
   "command write failure" => qr/AnyEvent::Fork: command write failure: (?:Broken pipe|Connection reset by peer) at \S+ line \d+\.\n/,
   "handle closed before it was sent" => qr/AnyEvent::Fork: file descriptor send failure: Bad file descriptor at \S+ line \d+\.\n/,
);

for my $case (sort keys %script) {
   my $code = q{
      use strict; use POSIX (); use AnyEvent; use AnyEvent::Fork;
      # EV reports with warn; a watcher that keeps dying (a busy loop of
      # errors) must end the program at once, not flood the disk
      my $warnings;
      $SIG{__WARN__} = sub {
         print STDERR $_[0];
         if (++$warnings > 3) { print "flood of errors\n"; POSIX::_exit (3) }
      };
      alarm 30; # last resort
      # the child's own complaints (it sees end-of-file) go to /dev/null
      sub child {
         open my $save, ">&", \*STDERR or die;
         open STDERR, ">", "/dev/null" or die;
         my $p = AnyEvent::Fork->new_exec;
         open STDERR, ">&", $save or die;
         $p
      }
   } . $script{$case} . q{
      my $t = AE::timer 0, 0.002, sub { $cv->send ("loop survived") unless $p->[2] };
      my $res = eval { $cv->recv };
      print "model=$AnyEvent::MODEL\n";
      print defined $res ? "recv=$res\n" : "died=$@";
      print "watcher=", ($p->[2] ? "active" : "gone"), "\n";
   };
   for my $model ("Perl", "EV") {
      SKIP: {
         skip "EV is not installed", 5 if $model eq "EV" && !eval { require EV; 1 };
         my ($st, $out, $err) = run_cmd ({ PERL_ANYEVENT_MODEL => $model }, perl_cmd ("-e", $code));
         is ($st, 0, "$case, $model: the program survives") or diag substr $err, 0, 1000;
         like ($out, qr/^model=AnyEvent::Impl::$model$/m, "$case, $model: the model is in use");
         like ($out, qr/^watcher=gone$/m, "$case, $model: the write watcher was stopped");
         if ($model eq "Perl") {
            like ($out, qr/^died=$want{$case}/m, "$case, $model: the die propagates out of the condvar wait");
            is ($err, "", "$case, $model: nothing on STDERR");
         } else {
            like ($out, qr/^recv=loop survived$/m, "$case, $model: the loop goes on");
            like ($err, qr/\AEV: error in callback \(ignoring\): $want{$case}\z/, "$case, $model: EV prints the error");
         }
      }
   }
}

done_testing;
