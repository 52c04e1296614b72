# Regression: when a parent callback (on_event, a result callback) dies,
# the frames that arrived in the same read are still delivered without new
# readiness on the socket, while the worker stays idle. Under EV they used
# to wait until the worker wrote again or ended (so a result could never
# arrive); under AnyEvent's own loop, when the loop is waited on again.
# The exception itself still leaves the event loop's callback (EV prints
# and ignores it, the pure-Perl loop passes it to whoever waits).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use AEFHelp;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

my ($freeze) = eval $AnyEvent::Fork::RPC::STRING_SERIALISER or die $@;

# octets on the socket of a response or event frame carrying @values
sub frame { 8 + length $freeze->(@_) }

# a worker whose request "event" sends an event first; its socket
sub worker {
   my ($log) = @_;
   my $proc = AnyEvent::Fork->new->eval (q{
      sub run {
         my ($what) = @_;
         AnyEvent::Fork::RPC::event ("ev-$what") if $what =~ /event/;
         "re-$what"
      }
   });
   my $sock = $proc->[1]; # the object's socket, as callers of the original see it
   my $rpc = $proc->AnyEvent::Fork::RPC::run ("run",
      serialiser => $AnyEvent::Fork::RPC::STRING_SERIALISER,
      on_event   => sub { push @$log, "@_"; die "on_event died\n" if $_[0] eq "ev-event-die" },
      on_error   => sub { push @$log, "error: @_" },
   );
   ($rpc, $sock)
}

# Run the loop until $cv is sent; an exception that leaves the loop (the
# pure-Perl model) is collected, as is EV's report of it. Each exception is
# expected once, then the loop goes on.
sub recv_through {
   my ($cv, $errors) = @_;
   local $SIG{__WARN__} = sub { push @$errors, $_[0] };
   while (1) {
      return if eval { $cv->recv; 1 };
      push @$errors, $@;
   }
}

for my $case (
   # on_event dies; the result of the same request follows in the buffer
   [ "on_event dies", ["event-die"], [qw(ev-event-die re-event-die)], "on_event died\n" ],
   # the first result callback dies; an event and a result follow
   [ "a result callback dies", ["first", "event-after"],
     [qw(re-first ev-event-after re-event-after)], "result died\n" ],
) {
   my ($name, $requests, $want, $error) = @$case;
   my (@log, @errors);
   my ($rpc, $sock) = worker (\@log);

   # connected and idle
   my $cv = AE::cv;
   $rpc->("warm", sub { push @log, @_; $cv->send });
   recv_through ($cv, \@errors);
   @log = ();

   $cv = AE::cv;
   $cv->begin for @$requests;
   for my $req (@$requests) {
      $rpc->($req, sub {
         push @log, @_;
         $cv->end;
         die "result died\n" if $_[0] eq "re-first";
      });
   }

   # every answer is on the socket before the loop reads any of it: they
   # arrive in one read
   my $octets = 0;
   $octets += frame ($_) for @$want;
   wait_buffered ($sock, $octets);

   recv_through ($cv, \@errors);
   is_deeply \@log, $want, "$name: what arrived in the same read is delivered, in order";
   is scalar (grep /\Q$error\E/, @errors), 1, "$name: the exception left the loop's callback once";
   like $errors[0], $AnyEvent::MODEL eq "AnyEvent::Impl::EV"
      ? qr/^EV: error in callback \(ignoring\): \Q$error\E/
      : qr/^\Q$error\E\z/, "$name: reported as the event loop reports it ($AnyEvent::MODEL)";

   # the object goes on working, and ends as usual
   @log = ();
   my $end = AE::cv;
   $rpc->("event-later", sub { push @log, @_; $end->send });
   recv_through ($end, \@errors);
   is_deeply \@log, [qw(ev-event-later re-event-later)], "$name: later requests are answered";
   is scalar @errors, 1, "$name: no other error";
}

done_testing;
