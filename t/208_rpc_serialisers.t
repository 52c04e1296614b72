# Serialisers (see SERIALISERS in AnyEvent::Fork::RPC's POD): every
# installed one round-trips through
# both backends, for results and events; a custom one works; the default
# string serialiser treats odd values exactly like perl's pack; a serialiser
# that fails to evaluate makes run die before anything is queued in the
# parent, kills a Sync child and is fatal in an Async child.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my $echo = q{
   sub sync  { AnyEvent::Fork::RPC::event (@_); @_ }
   sub async { my $done = shift; AnyEvent::Fork::RPC::event (@_); $done->(@_) }
};

# one call through a fresh worker: (event args, result args, errors)
sub roundtrip {
   my ($async, $serialiser, @args) = @_;
   my (@event, @result, @errors);
   my $done = AE::cv;

   my $rpc = AnyEvent::Fork
      ->new
      ->eval ($echo)
      ->AnyEvent::Fork::RPC::run ($async ? "async" : "sync",
           async      => $async,
           serialiser => $serialiser,
           on_event   => sub { @event = @_ },
           on_error   => sub { push @errors, @_; $done->send },
           on_destroy => $done,
        );
   $rpc->(@args, sub { @result = @_ });
   undef $rpc;
   $done->recv;

   (\@event, \@result, \@errors)
}

my $data = [
   { a => 1, b => [1, 2, { c => "d" }], u => "\x{263a}" },
   "plain", 42, 1.5, [],
];

my %needs = (
   JSON_SERIALISER      => "JSON",
   CBOR_XS_SERIALISER   => "CBOR::XS",
   STORABLE_SERIALISER  => "Storable",
   NSTORABLE_SERIALISER => "Storable",
);

for my $name (sort keys %needs) {
   SKIP: {
      skip "$needs{$name} not installed", 6 unless eval "require $needs{$name}; 1";
      no strict "refs";
      my $s = ${"AnyEvent::Fork::RPC::$name"};

      for my $async (0, 1) {
         my ($event, $result, $errors) = roundtrip ($async, $s, @$data);
         my $what = "$name " . ($async ? "async" : "sync");
         is_deeply $result, $data, "$what: result";
         is_deeply $event, $data, "$what: event";
         is_deeply $errors, [], "$what: no error";
      }
   }
}

# CBOR keeps shared references shared
SKIP: {
   skip "CBOR::XS not installed", 1 unless eval { require CBOR::XS; 1 };
   my $shared = [1];
   my (undef, $result) = roundtrip (0, $AnyEvent::Fork::RPC::CBOR_XS_SERIALISER, $shared, $shared);
   ok $result->[0] == $result->[1], "CBOR::XS: value sharing";
}

# a serialiser of the user's own
{
   my $s = '(sub { join "\0", map "<$_>", @_ }, sub { map /^<(.*)>\z/s, split /\0/, shift })';
   for my $async (0, 1) {
      my ($event, $result) = roundtrip ($async, $s, "a", "b c");
      is_deeply [$result, $event], [["a", "b c"], ["a", "b c"]],
         "custom serialiser, " . ($async ? "async" : "sync");
   }
}

# the default string serialiser: what perl's pack/unpack make of each value
{
   package Overloaded;
   use overload '""' => sub { "ov:$_[0][0]" }, fallback => 1;
   package TiedScalar;
   sub TIESCALAR { bless [] } sub FETCH { "tied" }
}
tie my $tied, "TiedScalar";
utf8::upgrade (my $upgraded = "\x{e9}t\x{e9}");
my %groups = (
   # the C codec encodes these itself
   plain => [undef, "", 0, 42, -7, 1.25, 1e100, "a\0b", "caf\x{e9}", substr ("xyz", 1), "x" x 200],
   # these make it call perl's pack instead
   magic => ["a", \"ref", bless ([1], "Overloaded"), $tied, $upgraded],
);

for my $group (sort keys %groups) {
   my @args = @{ $groups{$group} };
   my @expect = do { no warnings "uninitialized"; unpack "(w/a*)*", pack "(w/a*)*", @args };
   s/0x[0-9a-f]+/ADDR/ for @expect;

   for my $async (0, 1) {
      my ($event, $result) = roundtrip ($async, undef, @args);
      s/0x[0-9a-f]+/ADDR/ for @$event, @$result;
      my $what = ($async ? "async" : "sync") . ", $group values";
      is_deeply $result, \@expect, "$what: come back as perl's pack/unpack has them";
      is_deeply $event, \@expect, "$what: the same for events";
   }
}

# values made in the child go through the child's encoder the same way
for my $async (0, 1) {
   my @got;
   my $done = AE::cv;
   my $rpc = AnyEvent::Fork
      ->new
      ->eval (q{
         sub vals { (undef, 42, 1.5, -7, "", 1e100, 2**40) }
         sub sync { vals () }
         sub async { $_[0]->(vals ()) }
      })
      ->AnyEvent::Fork::RPC::run ($async ? "async" : "sync", async => $async, on_destroy => $done);
   $rpc->(sub { @got = @_ });
   undef $rpc;
   $done->recv;
   is_deeply \@got, ["", 42, 1.5, -7, "", 1e100, 2**40], ($async ? "async" : "sync") . ": numbers and undef from the child";
}

# wide characters cannot go through the string serialiser
{
   my @errors;
   my $rpc = AnyEvent::Fork->new->eval ($echo)->AnyEvent::Fork::RPC::run ("sync", on_error => sub { push @errors, @_ });
   ok !eval { $rpc->("\x{263a}", sub { }); 1 }, "a wide character croaks at the call";
   like $@, qr/^AnyEvent::Fork::RPC: the serialiser did not return an octet string/, "... with a clear message";

   my $cv = AE::cv;
   $rpc->("ok", $cv);
   is_deeply [$cv->recv], ["ok"], "... and nothing was queued: the next call works";
}

# evaluation fails in the parent: run dies, nothing reaches the fork object
{
   my @calls;
   {
      package Recorder;
      sub new { my $x; bless \$x }
      for my $m (qw(eval require send_arg run)) {
         no strict "refs";
         *$m = sub { push @calls, $m; $_[0] };
      }
   }

   ok !eval { Recorder->new->AnyEvent::Fork::RPC::run ("f", serialiser => "die qq{bad serialiser\\n}"); 1 },
      "run dies when the serialiser does not evaluate";
   is $@, "bad serialiser\n", "... with the evaluation error";
   is_deeply \@calls, [], "... before anything is queued";

   ok !eval { Recorder->new->AnyEvent::Fork::RPC::run ("f", serialiser => "(sub {}"); 1 }, "syntax error";
   like $@, qr/^syntax error/, "... dies with perl's message";
}

# evaluation fails in the child only: Sync dies, Async logs it as fatal
# (no request is sent: the child dies before it would read it)
for my $async (0, 1) {
   my $what = $async ? "async" : "sync";
   my $proc = AnyEvent::Fork->new;
   my $r = stderr_pipe ($proc);

   my (@errors, $destroyed);
   my $done = AE::cv;
   my $rpc = $proc
      ->eval ($echo)
      ->AnyEvent::Fork::RPC::run ($async ? "async" : "sync",
           async      => $async,
           serialiser => 'die "child side\n" if defined &AnyEvent::Fork::RPC::Sync::run; ' . $AnyEvent::Fork::RPC::STRING_SERIALISER,
           on_error   => sub { push @errors, @_; $done->send },
           on_destroy => sub { ++$destroyed; $done->send },
        );
   $done->recv;

   ok $destroyed && !@errors, "$what: serialiser fails in the child: it exits";
   my $stderr = do { local $/; <$r> };
   if ($async) {
      like $stderr, qr/^\S+ \S+ \S+ fatal AnyEvent::Fork::RPC::Async: child side$/m, "$what: fatal log";
   } else {
      is $stderr, "child side\n", "$what: the child dies with the error";
   }
}

done_testing;
