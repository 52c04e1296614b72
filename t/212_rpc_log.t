# The defaults of on_error and on_event: without on_error
# the error is logged with AnyEvent::Log at level error, context
# AnyEvent::Fork::RPC, as "AnyEvent::Fork::RPC: uncaught error: MSG." and
# the program goes on; with only on_event given, errors go to
# on_event ("error", MSG); an event without on_event is reported to on_error
# and stops nothing.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent;
use AnyEvent::Log;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my (@log, $logged);
$AnyEvent::Log::LOG->log_cb (sub { push @log, $_[0]; $logged->send if $logged; 0 });

my $code = q{
   sub run { AnyEvent::Fork::RPC::event ("ev") if $_[0] eq "event"; exit 1 if $_[0] eq "exit"; "r$_[0]" }
};

# no on_error, no on_event: logged
{
   $logged = AE::cv;
   my $rpc = AnyEvent::Fork->new->eval ($code)->AnyEvent::Fork::RPC::run ("run");
   $rpc->("exit", sub { });
   $logged->recv;
   is scalar @log, 1, "one log line";
   like $log[0], qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d{4} error AnyEvent::Fork::RPC: AnyEvent::Fork::RPC: uncaught error: unexpected eof\.\n\z/,
      "error level, context AnyEvent::Fork::RPC, 'AnyEvent::Fork::RPC: uncaught error: unexpected eof.'";
}

# level and context exactly
{
   my @raw;
   my $ctx = $AnyEvent::Log::LOG; # the context that logs formats
   $ctx->fmt_cb (sub { push @raw, [$_[1]->title, $_[2], $_[3]]; $logged->send; "" });
   $logged = AE::cv;
   my $rpc = AnyEvent::Fork->new->eval ($code)->AnyEvent::Fork::RPC::run ("run");
   $rpc->("exit", sub { });
   $logged->recv;
   is_deeply \@raw, [["AnyEvent::Fork::RPC", 4, "AnyEvent::Fork::RPC: uncaught error: unexpected eof."]],
      "context AnyEvent::Fork::RPC, level 4 (die = error)";
   $ctx->fmt_cb (undef);
}

# only on_event: errors arrive as events named "error"
{
   my @events;
   my $cv = AE::cv;
   my $rpc = AnyEvent::Fork->new->eval ($code)->AnyEvent::Fork::RPC::run ("run",
      on_event => sub { push @events, [@_]; $cv->send if $_[0] eq "error" });
   $rpc->("event", sub { push @events, ["result", @_] });
   $rpc->("exit", sub { });
   $cv->recv;
   is_deeply \@events, [["ev"], ["result", "revent"], ["error", "unexpected eof"]],
      "on_event given: on_error defaults to on_event (error => MSG)";
}

# no on_event: the event is reported to on_error, and nothing stops
{
   my @seen;
   my $cv = AE::cv;
   my $rpc = AnyEvent::Fork->new->eval ($code)->AnyEvent::Fork::RPC::run ("run",
      on_error => sub { push @seen, ["error", @_] }, on_destroy => $cv);
   $rpc->("event", sub { push @seen, ["result", @_] });
   undef $rpc;
   $cv->recv;
   is_deeply \@seen, [["error", "event received, but no on_event handler"], ["result", "revent"]],
      "no on_event: 'event received, but no on_event handler', then the result";
}

# ... and with neither: logged, and the program goes on
{
   @log = ();
   $logged = AE::cv;
   my $done = AE::cv;
   my @results;
   my $rpc = AnyEvent::Fork->new->eval ($code)->AnyEvent::Fork::RPC::run ("run", on_destroy => $done);
   $rpc->("event", sub { push @results, @_ });
   undef $rpc;
   $done->recv;
   like $log[0], qr/ error AnyEvent::Fork::RPC: AnyEvent::Fork::RPC: uncaught error: event received, but no on_event handler\.\n\z/,
      "logged";
   is_deeply \@results, ["revent"], "the result still arrives";
}

done_testing;
