# A fresh closure given to an RPC call leaves its package's list of back
# references while it waits in the queue (so that perl frees many of them
# in linear time) and is back on it when it is called or dropped: nothing
# about it differs from a closure that never waited. Both backends;
# closures compiled in main, in another package and in package DB; a
# closure the user keeps stays as it is; objects a closure captured are
# destroyed when they would be without the queue. (The package is what
# perl's call_sv looks at to keep code of package DB out of DB::sub, so a
# closure must be back in it when it is called.)
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp;
use AEFClosure;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my @PKGS = ("main", "AEFClosure::Other", "DB");

sub rpc {
   my ($async, %opt) = @_;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval ('sub echo { exit 1 if $_[0] eq "exit"; @_ } sub aecho { my $done = shift; exit 1 if $_[0] eq "exit"; $done->(@_) }')
      ->AnyEvent::Fork::RPC::run ($async ? "aecho" : "echo", async => $async, %opt);
   # connected
   $rpc->(0, my $cv = AE::cv);
   $cv->recv;
   $rpc
}

for my $async (0, 1) {
   my $what = $async ? "async" : "sync";
   my $rpc = rpc ($async);

   # one closure per package, queued together; each is detached while it waits
   {
      my (@log, %weak, %was);
      my $cv = AE::cv;
      my $left = @PKGS;
      for my $pkg (@PKGS) {
         $rpc->($pkg, closure ($pkg, $pkg, \@log, \$weak{$pkg}));
         $was{$pkg} = detached ($weak{$pkg});
      }
      $rpc->("end", sub { $cv->send });
      $cv->recv;

      for my $pkg (@PKGS) {
         ok $was{$pkg}, "$what, $pkg: detached while queued";
         my ($res) = grep ref $_ && $_->[0] eq $pkg, @log;
         is $res->[1], direct ($pkg, $pkg), "$what, $pkg: caller, subname, package, SUPER::, Deparse as if called directly";
         like $res->[1], qr/^caller=\Q${pkg}::__ANON__\E\nsubname=\Q${pkg}::__ANON__\E\nstash=\Q$pkg\E\n/,
            "$what, $pkg: it is ${pkg}::__ANON__ of package $pkg";
         is_deeply [@$res[2 .. $#$res]], [$pkg], "$what, $pkg: got its result";
      }
      like +(grep $_->[0] eq "AEFClosure::Other", @log)[0][1], qr/^super=base$/m,
         "$what: SUPER:: from another package finds its base class";
      is_deeply [map $_->[0] eq "destroy" ? "destroy $_->[1]" : "call $_->[0]", @log],
         [map { ("call $_", "destroy $_") } @PKGS],
         "$what: each closure's captured object is destroyed right after its call";
   }

   # a closure the user keeps is not touched, and still works
   check_kept ($what, $rpc);

   # a closure that reaches the call as an alias of an enclosing
   # statement's temporaries (a loop variable, a wrapper's @_) could still
   # be copied by the user: it is left alone
   {
      my (@log, @kept);
      for my $cb (map closure ("main", "alias$_", \@log), 1, 2) {
         $rpc->(1, $cb);
         ok !detached ($cb), "$what, loop variable over temporaries: not detached";
         push @kept, $cb;
      }
      my $wrap = sub { $rpc->(@_) };
      $wrap->(1, closure ("main", "wrapped", \@log, \my $weak));
      ok !detached ($weak), "$what, through a wrapper sub: not detached";
      $rpc->(2, my $cv = AE::cv);
      $cv->recv;
      is_deeply [map $_->[0], @log[0 .. 3]], ["alias1", "alias2", "wrapped", "destroy"],
         "$what, aliased and wrapped closures: called; the unkept one freed";
      is $log[0][1], direct ("main", 1), "$what, aliased closure: as if called directly";
   }

   # 2000 closures, freed first-in first-out, are freed in order, each after its call
   {
      my @log;
      my $cv = AE::cv;
      $rpc->($_, closure ("main", $_, \@log)) for 1 .. 2000;
      $rpc->("end", $cv);
      $cv->recv;
      is_deeply [map "$_->[0] $_->[-1]", @log], [map { ("$_ $_", "destroy $_") } 1 .. 2000],
         "$what: 2000 closures called and freed in order";
   }

   # closures that are never called (the worker exits) are dropped: their
   # objects are destroyed, and they are back in their package when freed
   {
      my (@log, $error);
      my $cv = AE::cv;
      my $rpc = rpc ($async, on_error => sub { $error = shift; $cv->send });
      $rpc->("exit", closure ("main", "lost1", \@log, \my $w1));
      $rpc->("x", closure ("AEFClosure::Other", "lost2", \@log, \my $w2));
      ok detached ($w1) && detached ($w2), "$what, dropped: detached while queued";
      $cv->recv;
      # (depending on timing, the exit shows as end-of-file, as a reset
      # connection, or as a failed write of the second request)
      like $error, qr/^(?:unexpected eof|read: .+|Broken pipe)\z/, "$what, dropped: the worker exited";
      undef $rpc;
      is_deeply [sort map "@$_", @log], ["destroy lost1", "destroy lost2"], "$what, dropped: freed, never called";
   }
}

done_testing;
