# AnyEvent::Task: deferred logs across processes
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AETask;
use Callback::Frame;
use AnyEvent::Task::Logger;
use AEFHelp qw(wait_until);
use Test::More;

my $path = server (
   interface => {
      normal => sub {
         logger->info ("hello from", $$);
         logger->timer ("junk");
         1
      },
      sleep => sub { select undef, undef, undef, 0.05; 1 },
      error => sub {
         logger->warn ("something weird happened");
         die "ERR: failed\n";
      },
      plain => sub { 1 },
      unencodable => sub { logger->info ("before the bad result"); sub {} },
      slow  => sub { select undef, undef, undef, 0.5; 1 },
   },
);

my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path]);

{
   my $msg;
   my $cv = AE::cv;
   {
      my $log = Log::Defer->new (sub { $msg = shift; $cv->send });
      $log->info ("hello from", $$);
      my $co = $client->checkout (log_defer_object => $log);
      frame_try {
         $co->normal (sub {
            $log->info ("after");
            $co->sleep (sub {});
            $co->sleep (sub {});
            $co->error (sub {});
         });
      } frame_catch {
         undef $co;
      };
   }
   $cv->recv;
   my @logs = @{ $msg->{logs} };
   is (scalar @logs, 4, "four log entries");
   is_deeply ([@{ $logs[0] }[2, 3]], ["hello from", $$], "the client's first");
   is ($logs[1][2], "hello from", "then the worker's");
   isnt ($logs[1][3], $$, "from another process");
   is ($logs[2][2], "after", "then the client's, from the callback");
   is ($logs[3][2], "something weird happened", "then the worker's, sent with the error");
   is_deeply ([map $_->[0], @{ $msg->{timers} }], [qw(normal junk sleep sleep error)], "timers in order");
   ok ((!grep @$_ != 3, @{ $msg->{timers} }), "all ended");
   ok (defined $msg->{end}, "end set");
}

# coderef form: the label, never the first argument
{
   my $msg;
   my $cv = AE::cv;
   {
      my $log = Log::Defer->new (sub { $msg = shift; $cv->send });
      my $co = $client->checkout (log_defer_object => $log);
      $co->('plain', 'first arg', sub { undef $co });
   }
   $cv->recv;
   is_deeply ([map $_->[0], @{ $msg->{timers} }], ['->()'], "coderef form: timer named ->()");
}

# a timeout does not keep the log alive
{
   my ($msg, $handler_done, $order);
   my $cv = AE::cv;
   {
      my $log = Log::Defer->new (sub { $msg = shift; $order = $handler_done ? "after handler" : "before handler"; $cv->send });
      my $co = $client->checkout (timeout => 0.2, log_defer_object => $log);
      frame_try {
         $co->slow (sub {});
      } frame_catch {
         $handler_done = 1;
      };
   }
   my $t = AE::timer 10, 0, sub { $cv->send };   # a bound only
   $cv->recv;
   ok ($handler_done, "the timeout reached the handler");
   is ($order, "after handler", "the log completed right after the handler");
}

# Log::Defer itself
{
   my $got;
   my $l = Log::Defer->new ({ cb => sub { $got = shift }, verbosity => 20 });
   $l->error ("e");
   $l->info ("dropped by verbosity");
   $l->warn (sub { ("lazy", 1) });
   $l->data->{k} = 'v';
   undef $l;
   is_deeply ([map [@$_[1 .. $#$_]], @{ $got->{logs} }], [[10, "e"], [20, "lazy", 1]], "levels, verbosity, lazy items");
   is_deeply ($got->{data}, { k => 'v' }, "data");
   eval { Log::Defer->new (sub {}, { cb => sub {} }) };
   like ($@, qr/^two callbacks provided at /, "two callbacks");
   eval { Log::Defer->new ("x") };
   like ($@, qr/^first arg to new must be a coderef or hashref at /, "bad first argument");
   eval { Log::Defer->new ({}) };
   like ($@, qr/^must provide callback to Log::Defer at /, "no callback");
   ok ($Log::Defer::VERSION >= 0.300, "version");
}

# a result JSON cannot carry: the error reply still carries the log data
{
   my $msg;
   my $cv = AE::cv;
   my $err;
   {
      my $log = Log::Defer->new (sub { $msg = shift; $cv->send });
      my $co = $client->checkout (log_defer_object => $log);
      frame_try {
         $co->unencodable (sub { $err = "no error" });
      } frame_catch {
         $err = $@;
         undef $co;
      };
   }
   $cv->recv;
   like ($err, qr/^error JSON encoding interface output: /, "an unencodable result with log data: the error");
   is_deeply ([map $_->[2], @{ $msg->{logs} }], ["before the bad result"], "and the worker's log entry");
}

is (ref logger (), "Log::Defer", "logger outside a worker: a process-wide object");
is (logger (), logger (), "the same one every time");

done_testing;
