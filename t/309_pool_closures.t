# A fresh closure given to a pool leaves its package's list of back
# references while it waits (in the pool's queue or at a worker) and is
# back on it when it is called: nothing about it differs from a closure
# that never waited. Sync and async workers; closures compiled in main,
# another package and DB; a closure the user keeps stays as it is;
# captured objects are destroyed right after the call, or when a worker
# dies with the job.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp;
use AEFClosure;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::Pool;

my @PKGS = ("main", "AEFClosure::Other", "DB");

for my $async (0, 1) {
   my $what = $async ? "async" : "sync";

   my $pool = AnyEvent::Fork
      ->new
      ->eval ('sub echo { exit 1 if $_[0] eq "exit"; @_ } sub aecho { my $done = shift; exit 1 if $_[0] eq "exit"; $done->(@_) }')
      ->AnyEvent::Fork::Pool::run ($async ? "aecho" : "echo",
           async => $async, max => 2, idle => 2, load => 2,
           on_error => sub { });

   # 3 packages x 2: more jobs than the workers take at once, so some
   # wait in the pool's own queue
   {
      my (@log, %weak, %was);
      my @tags = map { ("$_ 1", "$_ 2") } @PKGS;
      for my $tag (@tags) {
         (my $pkg = $tag) =~ s/ .*//;
         $pool->($tag, closure ($pkg, $tag, \@log, \$weak{$tag}));
         $was{$tag} = detached ($weak{$tag});
      }
      my $queued = (AnyEvent::Fork::Pool::stats ($pool))[2];
      # (the workers answer in any order: wait for every call and free)
      wait_until { @log == 2 * @tags };

      ok $queued > 0, "$what: some jobs waited in the pool's queue ($queued)";
      for my $tag (@tags) {
         (my $pkg = $tag) =~ s/ .*//;
         ok $was{$tag}, "$what, $tag: detached while queued";
         my ($res) = grep $_->[0] eq $tag, @log;
         is $res->[1], direct ($pkg, $tag), "$what, $tag: caller, subname, package, SUPER::, Deparse as if called directly";
         like $res->[1], qr/^caller=\Q${pkg}::__ANON__\E\nsubname=\Q${pkg}::__ANON__\E\nstash=\Q$pkg\E\n/,
            "$what, $tag: it is ${pkg}::__ANON__ of package $pkg";
         is_deeply [@$res[2 .. $#$res]], [$tag], "$what, $tag: got its result";
      }
      my @seq = map $_->[0] eq "destroy" ? "destroy $_->[1]" : "call $_->[0]", @log;
      is scalar @seq, 2 * @tags, "$what: every closure called and freed";
      for my $i (grep $_ % 2 == 0, 0 .. $#seq) {
         (my $tag = $seq[$i]) =~ s/^call //;
         is $seq[$i + 1], "destroy $tag", "$what, $tag: its captured object destroyed right after its call";
      }
   }

   # a closure the user keeps is not touched, and still works
   check_kept ($what, $pool);

   # a loop variable over temporaries could still be copied: left alone
   {
      my (@log, @kept);
      for my $cb (map closure ("main", "alias$_", \@log), 1, 2) {
         $pool->(1, $cb);
         ok !detached ($cb), "$what, loop variable over temporaries: not detached";
         push @kept, $cb;
      }
      wait_until { @log == 2 };
      is_deeply [sort map $_->[0], @log], ["alias1", "alias2"], "$what, aliased closures: called";
   }

   # 2000 closures through the pool, each freed after its call
   {
      my @log;
      $pool->($_, closure ("main", $_, \@log)) for 1 .. 2000;
      wait_until { @log == 4000 };
      my %calls = map { $_->[0] eq "destroy" ? () : ($_->[0] => 1) } @log;
      my $after = grep { $log[$_][0] ne "destroy" && $log[$_ + 1][0] eq "destroy" && $log[$_ + 1][1] eq $log[$_][0] } 0 .. $#log - 1;
      is scalar keys %calls, 2000, "$what: 2000 closures called";
      is $after, 2000, "$what: each freed right after its call";
   }

   # a worker that dies with jobs: their closures are dropped, never called
   {
      my @log;
      $pool->("exit", closure ("main", "lost", \@log, \my $weak));
      ok detached ($weak), "$what, lost job: detached while queued";
      wait_until { @log };
      is_deeply \@log, [["destroy", "lost"]], "$what, lost job: its closure freed, never called";
   }
}

done_testing;
