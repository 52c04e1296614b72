# AnyEvent::Fork::RPC over AnyEvent::Fork::Remote, unchanged: sync and
# async, over a local perl and over ssh's pipe semantics, with the C core
# in the worker and with the pure-Perl loops (a worker perl that cannot load
# the core); connection failures; a worker printing to STDOUT (the
# channel); no worker spinning once its parent is gone.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;

use Test::More;
use POSIX ();

use AnyEvent;
use AnyEvent::Fork::Remote;
use AnyEvent::Fork::RPC;
use AEFRemote;
use AEFHelp;

my $worker = q{
   sub init { $main::init = join ",", @_ }
   sub w {
      my $done = $main::async ? shift : undef;
      AnyEvent::Fork::RPC::event ("ev", $_[0]);
      my @r = ("r", @_, $0, $main::init, defined &AnyEvent::Fork::RPC::Core::sync_serve ? "core" : "pp");
      $done ? $done->(@r) : @r
   }
};

# three calls with an event each, then on_destroy; returns a log
sub session {
   my ($proc, $async, %opt) = @_;
   my @log;
   my $cv = AE::cv;
   my $rpc = $proc
      ->eval ("\$main::async = $async; $worker")
      ->send_arg ("i1", "i\\2")
      ->AnyEvent::Fork::RPC::run ("w",
           async      => $async,
           init       => "init",
           on_event   => sub { push @log, "event @_" },
           on_error   => sub { push @log, "error @_"; $cv->send },
           on_destroy => sub { push @log, "destroy"; $cv->send },
           %opt,
        );
   my $n = 3;
   $rpc->("a$_\\\\", "\xff\0", sub { push @log, join "|", @_; undef $rpc unless --$n }) for 1 .. 3;
   my $t = AE::timer 30, 0, sub { push @log, "timeout"; $cv->send };
   $cv->recv;
   @log
}

for my $arch (1, 0) {
   local $ENV{PERL5LIB} = remote_lib ($arch);
   my $impl = $arch ? "core" : "pp";

   for my $t (transports ()) {
      my ($name, $new) = @$t;
      for my $async (0, 1) {
         my $backend = $async ? "Async" : "Sync";
         my $serialiser = $async && !$arch ? $AnyEvent::Fork::RPC::JSON_SERIALISER : undef;
         next if $serialiser && !eval { require JSON; 1 };
         my @log = session ($new->(), $async, $serialiser ? (serialiser => $serialiser) : ());
         my @want = map {
            ("event ev a$_\\\\", join "|", "r", "a$_\\\\", "\xff\0", "*:$$ AnyEvent::Fork::RPC::${backend}::run", "i1,i\\2", $impl)
         } 1 .. 3;
         is_deeply \@log, [@want, "destroy"],
            "$name, $backend, $impl" . ($serialiser ? ", JSON" : "") . ": 3 calls with events, init, \$0, then on_destroy";
      }
   }
}

remote_env ();

# connection failures: exactly one on_error, nothing else
for my $case (["missing command", AnyEvent::Fork::Remote->new_exec ("/nonexistent/ssh", "ssh")],
              ["no backend on the remote \@INC", AnyEvent::Fork::Remote->new_exec ("/usr/bin/env", "env", "-u", "PERL5LIB", $^X)]) {
   my ($name, $proc) = @$case;
   for my $async (0, 1) {
      my @log;
      my $cv = AE::cv;
      my ($stderr) = with_stderr_pipe (sub {
         my $rpc = $proc->fork->AnyEvent::Fork::RPC::run ("w",
            async      => $async,
            on_error   => sub { push @log, "error @_"; my $t; $t = AE::timer 0.2, 0, sub { undef $t; $cv->send } },
            on_destroy => sub { push @log, "destroy" },
            on_event   => sub { push @log, "event" },
         );
         $rpc->(1, sub { push @log, "result" });
         $cv->recv;
      });
      is_deeply \@log, ["error connection failed"], "$name, async=$async: one on_error (connection failed), nothing else";
      drain ($stderr);
   }
}

# the worker prints to STDOUT: that is the channel, RPC reports an error
{
   my @log;
   my $cv = AE::cv;
   my $rpc = AnyEvent::Fork::Remote->new_exec ($^X, "perl")
      ->eval ('sub w { $| = 1; print "stray output, which breaks the framing\n"; "r" }')
      ->AnyEvent::Fork::RPC::run ("w",
           on_error   => sub { push @log, "error @_"; $cv->send },
           on_destroy => sub { push @log, "destroy"; $cv->send },
        );
   $rpc->(sub { push @log, "result @_" });
   undef $rpc; # the worker answers, gets end-of-file and exits
   my $t = AE::timer 30, 0, sub { $cv->send };
   $cv->recv;
   like "@log", qr/^error (unexpected eof|unexpected data from child)/, "a worker printing to STDOUT: on_error (@log)";
}

# the parent is killed while a request is pending that never completes: the
# worker must not spin (it stays, idle, or exits)
for my $arch (1, 0) {
   local $ENV{PERL5LIB} = remote_lib ($arch);
   for my $async (0, 1) {
      pipe my $r, my $w or die;
      my $parent = fork;
      unless ($parent) {
         close $r;
         my $rpc = AnyEvent::Fork::Remote->new_exec (pipe_cmd ())
            ->eval ($async ? 'sub w { syswrite STDERR, ""; $main::keep = $_[0]; AnyEvent::Fork::RPC::event ($$) }'
                           : 'sub w { AnyEvent::Fork::RPC::event ($$); sleep 1000 }')
            ->AnyEvent::Fork::RPC::run ("w", async => $async, on_event => sub { syswrite $w, "$_[0]\n" }, on_error => sub { POSIX::_exit (1) });
         $rpc->(sub { });
         AE::cv->recv;
      }
      close $w;
      my $pid = <$r>;
      chomp $pid;
      ok $pid, "async=$async, arch=$arch: worker $pid runs";
      kill KILL => $parent;
      waitpid $parent, 0;
      my $cpu0 = cpu_of ($pid) || 0;
      run_for 1;
      my $cpu = cpu_of ($pid);
      ok !defined $cpu || $cpu - $cpu0 < 0.2, "async=$async, arch=$arch: the worker does not spin once its parent is gone";
      # (the watchdog ends the workers with the test's process group)
   }
}

done_testing;
