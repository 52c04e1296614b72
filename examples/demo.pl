#!/usr/bin/perl
# The Quick start demo: a template, processes forked from it, a descriptor
# passed to one of them, and the speed of ->new->run, all in a few seconds.
use strict;
use warnings;
use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Util ();
use Time::HiRes ();

$| = 1;

# what was actually loaded: this distribution (with its C core) or the
# original (with IO::FDPass), from where
printf "AnyEvent::Fork %s from %s, %s, AnyEvent model %s\n",
   $AnyEvent::Fork::VERSION, $INC{"AnyEvent/Fork.pm"},
   $INC{"AnyEvent/Fork/Core.pm"} ? "on the C core ($INC{'AnyEvent/Fork/Core.pm'})"
   : $INC{"IO/FDPass.pm"}        ? "on IO::FDPass (the original)"
   :                               "C core not loaded yet",
   AnyEvent::detect;

# 1. a child forked from the default template, running a function we sent it
my $cv = AE::cv;
AnyEvent::Fork->new
   ->eval ('sub main::hello { my ($fh, $name) = @_; syswrite $fh, "hello $name from pid $$ ($0)\n" }')
   ->send_arg ("demo")
   ->run ("hello", sub {
      my ($fh) = @_;
      my $w; $w = AE::io $fh, 0, sub { sysread $fh, my $buf, 4096; undef $w; $cv->send ($buf) };
   });
print "1. ", $cv->recv;

# 2. a pipe's write end passed to a child
my ($r, $w) = AnyEvent::Util::portable_pipe;
AnyEvent::Fork->new->send_fh ($w)->eval ('syswrite $arg[0], "a passed descriptor works\n"');
undef $w;
$cv = AE::cv;
my $rw = AE::io $r, 0, sub { $cv->send (scalar <$r>) };  # the loop writes the queue
print "2. ", $cv->recv;
undef $rw;

# 3. how fast processes come and go
my $n = 500;
my $t0 = Time::HiRes::time;
for (1 .. $n) {
   AnyEvent::Fork->new->run ("CORE::exit", my $started = AE::cv);
   my $fh = $started->recv;
   my $w = AE::io $fh, 0, my $gone = AE::cv;  # end-of-file: the child is gone
   $gone->recv;
}
printf "3. %d processes forked, run and exited one after another: %.0f per second\n",
   $n, $n / (Time::HiRes::time - $t0);

# 4. a remote procedure call (AnyEvent::Fork::RPC) and a pool of workers
#    (AnyEvent::Fork::Pool), both on the same kind of child
require AnyEvent::Fork::RPC;
require AnyEvent::Fork::Pool;

my $worker = AnyEvent::Fork->new->eval ('sub main::square { $_[0] ** 2 }');
my $rpc = AnyEvent::Fork::RPC::run ($worker, "main::square");
$cv = AE::cv;
$rpc->(12, sub { $cv->send ($_[0]) });
print "4. 12 squared in a child: ", $cv->recv, "\n";
undef $rpc;

my $pool = AnyEvent::Fork->new->eval ('sub main::square { $_[0] ** 2 }')
   ->AnyEvent::Fork::Pool::run ("main::square", max => 2, on_destroy => (my $gone = AE::cv));
my $sum = 0;
$pool->($_, sub { $sum += $_[0] }) for 1 .. 1000;
undef $pool;
$gone->recv;
print "5. a pool of 2 workers summed the squares of 1..1000: $sum\n";

# 6. a service (IPC::Manager style) in its own process, and a round trip
#    through its handle
require IPC::Manager;
my $svc = IPC::Manager::ipcm_service (greeter => (handle_request => sub { "hello, $_[1]{request}" }));
print "6. a service answered: ", $svc->sync_request (greeter => "world", 5)->{response}, "\n";
undef $svc; # stops the service and removes its bus
# 7. AnyEvent::Task: a server of synchronous workers (here in a process
#    made by AnyEvent::Fork, since this program's event loop already runs),
#    and a client that checks a worker out and calls it
require AnyEvent::Task::Client;
require File::Temp;
my $task_dir = File::Temp->newdir;
AnyEvent::Fork->new->eval (q{
   use AnyEvent::Task::Server;
   sub task_server {
      my ($fh, $path) = @_;
      my $server = AnyEvent::Task::Server->new (
         listen => ['unix/', $path],
         interface => { hello => sub { "hello $_[0], from worker $$" } },
      );
      my $w = AE::io ($fh, 0, sub { exit 0 });   # the demo went away
      AE::cv->recv;
   }
})->send_arg ("$task_dir/socket")->run ("task_server", my $task_server = AE::cv);
my $task_keep = $task_server->recv;
my $client = AnyEvent::Task::Client->new (connect => ['unix/', "$task_dir/socket"]);
$cv = AE::cv;
$client->checkout (timeout => 10)->hello ("demo", sub { $cv->send ($_[1]) });
print "7. AnyEvent::Task round trip: ", $cv->recv, "\n";
