# Fork objects that are not AnyEvent::Fork (see FORK OBJECTS in
# AnyEvent::Fork::RPC's POD): a blessed scalar
# with only new/require/send_arg/run (RPC 1.24 style) or only
# new/eval/send_arg/run (2.0 style). Their run calls the callback without a
# handle from AE::postpone, as AnyEvent::Fork::Remote does when it cannot
# connect: on_error("connection failed"), never on_destroy, even though the
# RPC object was called and dropped before the callback ran.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent;
use AnyEvent::Fork::RPC;

our @calls;

{
   package RequireOnly;
   sub new      { my $x = 0; bless \$x, shift }
   sub require  { my $self = shift; push @main::calls, ["require", @_]; $self }
   sub send_arg { my $self = shift; push @main::calls, ["send_arg", @_]; $self }
   sub run      { my ($self, $f, $cb) = @_; push @main::calls, ["run", $f]; AE::postpone { $cb->() }; () }
}

{
   package EvalOnly;
   sub new      { my $x = 0; bless \$x, shift }
   sub eval     { my $self = shift; push @main::calls, ["eval", @_]; $self }
   sub send_arg { my $self = shift; push @main::calls, ["send_arg", @_]; $self }
   sub run      { my ($self, $f, $cb) = @_; push @main::calls, ["run", $f]; AE::postpone { $cb->() }; () }
}

ok !RequireOnly->can ("eval") && !EvalOnly->can ("require"), "each has only its own method";

for my $class (qw(RequireOnly EvalOnly)) {
   for my $async (0, 1) {
      my $backend = "AnyEvent::Fork::RPC::" . ($async ? "Async" : "Sync");
      my $what = "$class, " . ($async ? "async" : "sync");

      @calls = ();
      my (@errors, $destroyed, $results);
      my $cv = AE::cv;

      my $rpc = $class->new->AnyEvent::Fork::RPC::run ("worker",
         async      => $async,
         on_error   => sub { push @errors, [@_]; $cv->send },
         on_destroy => sub { ++$destroyed; $cv->send },
      );

      $rpc->(1, 2, sub { ++$results });
      undef $rpc;

      my $timeout = AE::timer 5, 0, sub { $cv->send };
      $cv->recv;

      # one more round of the loop: nothing else may follow
      my $more = AE::cv;
      AE::postpone { $more->send };
      $more->recv;

      is_deeply \@errors, [["connection failed"]], "$what: on_error (connection failed) within 5 seconds";
      ok !$destroyed, "$what: no on_destroy";
      ok !$results, "$what: no result";

      is_deeply \@calls, [
         $class eq "EvalOnly"
            ? ["eval", "use $backend 2 ()"]
            : ["require", $backend],
         ["send_arg",
            function   => "worker",
            init       => undef,
            serialiser => $AnyEvent::Fork::RPC::STRING_SERIALISER,
            done       => "${backend}::do_exit",
            rlen       => 496,
            -10,
         ],
         ["run", "${backend}::run"],
      ], "$what: the methods and the handshake";
   }
}

# options reach the handshake
@calls = ();
AnyEvent::Fork::RPC::run (EvalOnly->new, "f",
   init => "i", done => "d", serialiser => $AnyEvent::Fork::RPC::STORABLE_SERIALISER,
   buflen => 1000, buflen_req => 2000, on_error => sub { });
is_deeply $calls[1], ["send_arg", function => "f", init => "i",
   serialiser => $AnyEvent::Fork::RPC::STORABLE_SERIALISER, done => "d", rlen => 2000, -10],
   "function form; init, done, serialiser and buflen_req are sent";

@calls = ();
AnyEvent::Fork::RPC::run (EvalOnly->new, "f", buflen => 1000, serialiser => "", on_error => sub { });
is_deeply $calls[1][10], 1000, "buflen without buflen_req: rlen";
is $calls[1][6], $AnyEvent::Fork::RPC::STRING_SERIALISER, "a false serialiser means the default";

done_testing;
