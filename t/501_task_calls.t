# AnyEvent::Task: call forms, arguments and results, setup, success callbacks
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use Callback::Frame;
use Test::More;

my $path = server (
   setup => sub { $main::counter = 100 },
   interface => sub {
      my $m = $_[0];
      return ++$main::counter if defined $m && $m eq 'inc';
      return (1, 2, 3) if defined $m && $m eq 'list';
      return bless {}, 'Foo::Bar' if defined $m && $m eq 'obj';
      return sub {} if defined $m && $m eq 'code';
      return $_[1] if defined $m && $m eq 'same';
      return $$ if defined $m && $m eq 'pid';
      \@_
   },
);
my $hpath = server (interface => {
   add => sub { $_[0] + $_[1] },
   args => sub { [@_] },
});

my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path], max_workers => 1);
my $hclient = AnyEvent::Task::Client->new (connect => ['unix/', $hpath]);

{
   my $co = $client->checkout;
   my $r = call ($co, undef, 1, "two", [3], { four => 4 });
   is_deeply ($r, [1, "two", [3], { four => 4 }], "coderef form: exactly the arguments, no method name");
   is_deeply (call ($co, 'some_method', 1), ['some_method', 1], "method form: the name comes first");
   my $big = "\x{1D1DA}";
   my $r2 = call ($co, undef, { $big => $big, n => 1.5, s => "10", nested => [[1], { a => [] }] });
   my $h = $r2->[0];
   is (ord ((keys %$h)[0] eq $big ? (keys %$h)[0] : (grep length == 1 && ord > 255, keys %$h)[0]), 0x1D1DA, "a character outside the BMP survives as a key");
   is (ord $h->{$big}, 0x1D1DA, "and as a value");
   is_deeply ($h->{nested}, [[1], { a => [] }], "nested structures");
   is ($h->{n}, 1.5, "a number");
   is (call ($co, 'list'), 3, "the interface runs in scalar context");
   is (call ($co, 'same', undef), undef, "undef result");
}

{
   my $co = $hclient->checkout;
   is (call ($co, 'add', 2, 3), 5, "hash interface: the name selects the sub");
   is_deeply (call ($co, 'args', 7, 8), [7, 8], "and the other arguments are passed");
   is_deeply (call ($co, undef, 'args', 9), [9], "coderef form on a hash interface: the first argument names the method");
   my ($ok, $err) = call_err ($co, 'nosuch');
   ok (!$ok, "unknown method fails");
   like ($err, qr/^Can't use an undefined value as a subroutine reference at /, "with perl's text");
}

{
   my $co = $client->checkout;
   my ($ok, $err) = call_err ($co, 'obj');
   like ($err, qr/^interface returned object: Foo::Bar=\(Foo::Bar=HASH\(0x[0-9a-f]+\)\) at /, "blessed result refused");
   $co = $client->checkout;
   ($ok, $err) = call_err ($co, 'code');
   like ($err, qr/^error JSON encoding interface output: .+ at .+ line \d+\.\n\z/s, "unencodable result");
   $co = $client->checkout;
   ($ok, $err) = call_err ($co, 'same', JSON::XS::true ());
   like ($err, qr/^interface returned object: JSON::PP::Boolean=\(1\)/, "a boolean returned as is is an object");
   is_deeply (call ($co, undef, 'x', JSON::XS::true ()), ['x', JSON::XS::true ()], "booleans inside a structure travel");
}

{
   my $co = $client->checkout;
   my $err;
   eval { $co->echo (bless ({}, 'Obj'), sub {}) };
   like ($@, qr/^encountered object 'Obj=HASH\(0x[0-9a-f]+\)', but neither allow_blessed/, "an unencodable argument dies at the call");
   eval { $co->echo (1, undef) };
   like ($@, qr/^value missing for key code at /, "undef callback");
   eval { $co->echo (1, "notcode") };
   like ($@, qr/^the last argument of a call must be a callback/, "a callback that is no code reference dies at once");
   eval { $co->echo };
   like ($@, qr/^the last argument of a call must be a callback/, "so does a method call without arguments");
   eval { AnyEvent::Task::Client::Checkout->foo (sub {}) };
   like ($@, qr/^AnyEvent::Task::Client::Checkout is not an object at /, "class method");
   ok (!$co->can ('foo'), "can is local");
   ok ($co->isa ('AnyEvent::Task::Client::Checkout'), "isa is local");
   like ("$co", qr/^AnyEvent::Task::Client::Checkout=HASH\(0x/, "stringifies as a hash object");
   eval { $co->throw_fatal_error ("nothing waits") };
   like ($@, qr/^_throw_error called but no callback installed\. Error thrown was: nothing waits at /, "throw_fatal_error with nothing queued");
   my ($ok, $e) = call_err ($co, 'pid');
   like ($e, qr/^nothing waits at /, "later calls fail with the stored error");
}

# setup once per worker, lazily; $@ false and ($checkout, $result) in the callback
{
   my $co = $client->checkout;
   my $cv = AE::cv;
   my ($same, $at);
   $co->inc (sub { $same = $_[0] == $co; $at = $@; $cv->send ($_[1]) });
   is ($cv->recv, 101, "setup ran once before the first request");
   ok ($same, "callback gets the checkout");
   ok (!$at, '$@ is false in the callback');
   undef $co;
   is (call ($client->checkout, 'inc'), 102, "same worker, setup not run again");
}

# 100 fire-and-forget checkouts, none served synchronously
{
   my $c5 = AnyEvent::Task::Client->new (connect => ['unix/', $path], max_workers => 5);
   my ($created, %got, $early) = (0);
   my $cv = AE::cv;
   $cv->begin for 1 .. 100;
   for my $i (1 .. 100) {
      $c5->checkout->(echo => $i, sub { $early++ if $created < 100; $got{$_[1][1]}++; $cv->end });
      $created++;
   }
   $cv->recv;
   ok (!$early, "no callback ran before all 100 were created");
   is (scalar keys %got, 100, "all 100 served, each with its own argument");
}

# calls made in one go on a bound checkout: written behind the unanswered
# first one, more than the socket takes at once (200 x 64 KiB), each reply
# in its turn with its own argument
{
   my $co = $client->checkout;
   is (call ($co, 'same', 0), 0, "bound");
   my (@got, $cv) = ();
   $cv = AE::cv;
   $cv->begin for 1 .. 200;
   $co->(same => ($_ x 65536), sub { push @got, $_[1]; $cv->end }) for map chr (65 + $_ % 26), 1 .. 200;
   $cv->recv;
   is (scalar @got, 200, "200 large calls queued at once: 200 replies");
   is (join ("", map { $_ eq substr ($_, 0, 1) x 65536 ? substr ($_, 0, 1) : "?" } @got),
       join ("", map chr (65 + $_ % 26), 1 .. 200), "in order, each intact");
}

done_testing;
