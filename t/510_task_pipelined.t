# AnyEvent::Task: calls made in one go on a bound checkout (the coderef
# form behind an unanswered call, done in C): errors at the call, frames
# and their handlers, what the code ref of \&$checkout keeps alive, and
# that nothing outlives the calls
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use AEFHelp qw(wait_until);
use AEFClosure;
use Callback::Frame;
use Test::More;

my $path = server (
   interface => sub {
      die "failed $_[1]\n" if defined $_[0] && $_[0] eq 'fail';
      return $$ if defined $_[0] && $_[0] eq 'pid';
      [@_]
   },
   checkout_done => sub { },
);

my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path], name => "PIPE", max_workers => 1);

# a checkout bound to its worker, with one call unanswered
sub busy_checkout {
   my ($cv) = @_;
   my $co = $client->checkout (timeout => undef);
   call ($co, 'pid');
   $cv->begin;
   $co->('first', sub { $cv->end });
   $co
}

# results in order, whatever the arguments
{
   my $cv = AE::cv;
   my $co = busy_checkout ($cv);
   my @got;
   for my $args ([], [1], ["two", { three => [3] }], [undef], ["\x{263a}"]) {
      $cv->begin;
      $co->(@$args, sub { push @got, $_[1]; $cv->end });
   }
   $cv->recv;
   is_deeply (\@got, [[], [1], ["two", { three => [3] }], [undef], ["\x{263a}"]], "calls in one go: each its own arguments, in order");
}

# errors at the call, while calls are in flight; those still complete
{
   my $cv = AE::cv;
   my $co = busy_checkout ($cv);
   my @got;
   $cv->begin;
   $co->(1, sub { push @got, $_[1][0]; $cv->end });
   eval { $co->(2, "notcode") };
   like ($@, qr/^the last argument of a call must be a callback \(a code reference\) at /, "a callback that is no code reference");
   eval { $co->(3, undef) };
   like ($@, qr/^value missing for key code at /, "an undef callback");
   eval { $co->() };
   like ($@, qr/^value missing for key code at /, "no arguments at all");
   eval { $co->(bless ({}, 'Obj'), sub { push @got, "sent" }) };
   like ($@, qr/^encountered object 'Obj=HASH\(0x[0-9a-f]+\)', but neither allow_blessed/, "an unencodable argument");
   # a tied argument is read once, whether the call is sent or fails
   my $fetched = 0;
   {
      package Counted;
      sub TIESCALAR { my $n = $_[1]; bless \$n, $_[0] }
      sub FETCH { ${ ${ $_[0] } }++; "tied" }
   }
   tie my $tied, 'Counted', \$fetched;
   eval { $co->($tied, bless ({}, 'Obj'), sub { push @got, "sent" }) };
   like ($@, qr/^encountered object 'Obj=HASH/, "a tied argument beside an unencodable one");
   is ($fetched, 1, "the tied argument was read once");
   $cv->begin;
   $co->($tied, sub { push @got, $_[1][0]; $cv->end });
   is ($fetched, 2, "and once for a call that is sent");
   $cv->begin;
   $co->(4, sub { push @got, $_[1][0]; $cv->end });
   $cv->recv;
   is_deeply (\@got, [1, "tied", 4], "the calls around them complete, the failed ones sent nothing");
}

# frames: each call's error goes to the handler around it, with the
# client's name in the trace; a frame as the callback keeps its own
{
   my $cv = AE::cv;
   my $co = busy_checkout ($cv);
   my @got;
   for my $tag (qw(A B B A)) {
      $cv->begin;
      frame_try {
         $co->(fail => $tag, sub { push @got, "ran $tag"; $cv->end });
      } frame_catch {
         my ($first, @frames) = split /\n/, $_[0];
         push @got, "$tag caught $first: " . join (", ", map { /^\S+:\d+ - (.*)/ ? $1 : "?" } @frames[1 .. $#frames]);
         $cv->end;
      };
   }
   $cv->recv;
   is_deeply (\@got, [map "$_ caught failed $_: PIPE -> NO METHOD, ANONYMOUS FRAME", qw(A B B A)],
      "errors in one go: each in its own frame_try, named after the client");

   undef $co;   # its worker is the only one
   $cv = AE::cv;
   $co = busy_checkout ($cv);
   @got = ();
   my $own = frame (name => "own", code => sub { die "own died\n" }, catch => sub { push @got, (split /\n/, $_[0])[0] . " / " . (split /\n/, $_[0])[2]; $cv->end });
   $cv->begin;
   $co->(1, $own);
   $cv->begin;
   frame_try {
      $co->(2, sub { die "plain died\n" });
   } frame_catch {
      push @got, (split /\n/, $_[0])[0] . " / " . ((split /\n/, $_[0])[2] =~ /- (.*)/)[0];
      $cv->end;
   };
   $cv->recv;
   like ($got[0], qr/^own died \/ \S+:\d+ - own\z/, "a frame as the callback: its own handler and trace");
   is ($got[1], "plain died / PIPE -> NO METHOD", "a plain callback that dies: the handler around the call");
   is (scalar @got, 2, "nothing else ran");
}

# what the code ref of \&$checkout keeps: the checkout, as long as it is held
{
   my $co = $client->checkout (timeout => undef);
   my $pid = call ($co, 'pid');
   my $code = \&$co;
   undef $co;
   my $other = $client->checkout (timeout => undef);
   my $served;
   my $cv = AE::cv;
   $other->('pid', sub { $served = $_[1]; $cv->send });
   my $r = do { my $c = AE::cv; $code->('pid', sub { $c->send ($_[1]) }); $c->recv };
   is ($r, $pid, "a call through the held code ref reaches the checkout's worker");
   ok (!defined $served, "the only worker is still leased: the other checkout waits");
   undef $code;
   $cv->recv;
   is ($served, $pid, "once the code ref goes, the checkout is released and the worker serves the other");
}

# what the frames around the calls hold lives as long as the calls, even
# when the checkout lives on; nothing holds the checkout after them
{
   my ($gone, $co_gone) = (0, 0);
   my $cv = AE::cv;
   {
      package Guard;
      sub new { bless [$_[1]], $_[0] }
      sub DESTROY { ${ $_[0][0] }++ }
   }
   my $co = busy_checkout ($cv);
   $co->{guard} = Guard->new (\$co_gone);
   {
      my $guard = Guard->new (\$gone);
      frame_try {
         for (1 .. 3) {
            $cv->begin;
            $co->($_, sub { $cv->end });
         }
      } frame_catch {
         my $keep = $guard;
      };
   }
   is ($gone, 0, "while calls are in flight the frame's handler lives");
   $cv->recv;
   is ($gone, 1, "after the replies the handler (and what it holds) is gone, the checkout still held");
   undef $co;
   is ($co_gone, 1, "dropping the checkout then frees it at once");
   my $pid = call ($client->checkout (timeout => 10), 'pid');
   ok ($pid, "the checkout was released: its worker serves a new one");
}

# a fresh closure given as a callback leaves its package's list of back
# references while it waits and is back on it when called: nothing about
# it differs from a closure called directly; it is freed right after its
# call; a closure the caller keeps is left alone
{
   my $cv = AE::cv;
   my $co = busy_checkout ($cv);
   my (@log, %weak, %was);
   my @tags = map { ("$_ 1", "$_ 2") } "main", "AEFClosure::Other", "DB";
   for my $tag (@tags) {
      (my $pkg = $tag) =~ s/ .*//;
      $co->($tag, closure ($pkg, $tag, \@log, \$weak{$tag}));
      $was{$tag} = detached ($weak{$tag});
   }
   wait_until { @log == 2 * @tags };
   for my $tag (@tags) {
      (my $pkg = $tag) =~ s/ .*//;
      ok ($was{$tag}, "$tag: detached while in flight");
      my ($res) = grep $_->[0] eq $tag, @log;
      is ($res->[1], direct ($pkg, $co, [$tag]), "$tag: caller, subname, package, SUPER::, Deparse as if called directly");
      is_deeply ($res->[3], [$tag], "$tag: got its result");
   }
   is_deeply ([map { $_->[0] eq "destroy" ? "destroy $_->[1]" : "call $_->[0]" } @log],
      [map { ("call $_", "destroy $_") } @tags], "each called in order and freed right after its call");
   check_kept ("kept", sub { $co->(@_) });
   $cv->recv;
}

done_testing;
