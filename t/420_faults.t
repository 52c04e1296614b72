use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;
use Test::More;
use POSIX ();
use Socket qw(AF_UNIX SOCK_DGRAM SOCK_STREAM pack_sockaddr_un);
use Time::HiRes ();
use IPCMScenarios qw(wait_for quiet slurp_file tmp);
use IPC::Manager qw(ipcm_service ipcm_spawn ipcm_connect ipcm_default_protocol);
use IPC::Manager::Util qw(pid_is_running);
use AEFHelp ();

# a process that exited but was not reaped is not running
{
   my $pid = fork;
   POSIX::_exit (0) unless $pid;
   ok wait_for { !pid_is_running ($pid) }, "zombie $pid counts as gone";
   ok kill (0, $pid), "although signal 0 still reaches it";
   is waitpid ($pid, 0), $pid, "and it was not reaped by the check";
   eval { pid_is_running (0) };
   like $@, qr/^A pid is required/, "pid required";
}

for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   ipcm_default_protocol ($proto);

   # a service killed with SIGKILL is seen gone at once, zombie or not
   {
      my $h = ipcm_service (silent => (handle_request => sub { return }));
      my $id = $h->send_request (silent => "x");
      kill KILL => $h->service_pid;
      my $t = Time::HiRes::time ();
      ok !eval { $h->await_response ($id); 1 }, "$proto: await_response fails";
      is $@, "peer 'silent' went away while awaiting response '$id' at " . __FILE__ . " line " . (__LINE__ - 1) . ".\n",
         "$proto: with the text";
      my $t2 = Time::HiRes::time ();
      undef $h;
      cmp_ok Time::HiRes::time () - $t2, '<', 5, "$proto: teardown does not wait for the dead service";
   }

   # a peer vanishing mid-request (without answering, entry left behind)
   {
      my $h = ipcm_service (vanish => (handle_request => sub { POSIX::_exit (0) }));
      my $id = $h->send_request (vanish => "x");
      eval { $h->await_all_responses (20) };
      like $@, qr/^peer\(s\) 'vanish' went away while awaiting responses/, "$proto: await_all_responses text";
   }

   # bad input on the bus is reported and the service keeps serving
   {
      my $h;
      my $err = quiet {
         $h = ipcm_service (robust => (handle_request => sub { "fine $_[1]{request}" }));
         is $h->sync_request (robust => 1, 10)->{response}, "fine 1", "$proto: serving";
         my $path = $h->client->peer_exists ('robust');
         if ($proto eq 'UnixSocket') {
            socket (my $s, AF_UNIX, SOCK_DGRAM, 0) or die;
            send ($s, "{not json", 0, pack_sockaddr_un ($path)) or die "send: $!";
         }
         elsif ($proto eq 'ConnectionUnix') {
            for my $garbage ("{not json", "\0\0\0\x64truncated") {
               socket (my $s, AF_UNIX, SOCK_STREAM, 0) or die;
               connect ($s, pack_sockaddr_un ($path)) or die "connect: $!";
               syswrite $s, pack ("N/a*", '{"hello":"raw"}') . ($garbage =~ /^\0/ ? $garbage : pack ("N/a*", $garbage));
               close $s;
            }
            socket (my $s, AF_UNIX, SOCK_STREAM, 0) or die;
            connect ($s, pack_sockaddr_un ($path)) or die;
            syswrite $s, pack ("N/a*", "{bad hello");
            close $s;
         }
         else {
            open my $fh, ">", "$path/bogus.ready" or die;
            print $fh "{not json";
            close $fh;
         }
         is $h->sync_request (robust => 2, 10)->{response}, "fine 2", "$proto: still serving after bad input";
         is $h->sync_request (robust => 3, 10)->{response}, "fine 3", "$proto: and again";
         undef $h;
      };
      like $err, qr/malformed/, "$proto: bad input reported";
   }

   # a peer that does not read does not block the service's loop: 2000
   # messages of 1 KB fill a socket's queue many times over; message files
   # never fill anything, and writing 2000 of them would only measure the
   # disk (seconds on a loaded machine), so 200 are enough there
   {
      my $count = $proto eq 'MessageFiles' ? 200 : 2000;
      my $h = ipcm_service (flood => (handle_request => sub {
         my ($self, $req) = @_;
         return $self->client->peer_active ('sink') ? 'sink' : 'nosink' if $req->{request} eq 'check';
         $self->client->send_message (sink => { n => $_, pad => "x" x 1000 }) for 1 .. $count;
         return "sent";
      }));
      my $sink = ipcm_connect (sink => $h->ipcm_info);
      wait_for { $h->sync_request (flood => 'check', 10)->{response} eq 'sink' };
      my $t = Time::HiRes::time ();
      is $h->sync_request (flood => 'go', 60)->{response}, "sent", "$proto: answered while the sink is full";
      is $h->sync_request (flood => 'check', 10)->{response}, "sink", "$proto: loop keeps running";
      my $n = 0;
      wait_for { $n += () = $sink->get_messages; $n >= $count } 30;
      is $n, $count, "$proto: every message arrives once the sink reads";
      undef $sink;
      undef $h;
   }
}

# datagrams: a message larger than the original's 64 KiB receive buffer
# travels whole; one larger than the kernel allows fails with a clear error
{
   ipcm_default_protocol ('UnixSocket');
   my $h = ipcm_service (big => (handle_request => sub { length $_[1]{request} }));
   is $h->sync_request (big => "y" x (100 * 1024), 10)->{response}, 100 * 1024, "100 KiB request arrives whole";
   # how large a datagram may be depends on the kernel's settings
   my $r = eval { $h->sync_request (big => "z" x (4 * 1024 * 1024), 10) };
   if ($r) { is $r->{response}, 4 * 1024 * 1024, "4 MiB request arrives whole" }
   else    { like $@, qr/^Cannot send message: Message too long/, "4 MiB datagram refused with the kernel's reason" }
   is $h->sync_request (big => "ok", 10)->{response}, 2, "service unaffected";
}

# two clients flooding each other with blocking sends: a sender whose
# destination is full takes in what arrives while it waits, so neither
# waits for the other forever
for my $proto (qw(UnixSocket ConnectionUnix)) {
   ipcm_default_protocol ($proto);
   my $spawn = ipcm_spawn ();
   my $a = ipcm_connect (a => $spawn->info);
   my $n = 300;
   my $child = fork;
   if (!$child) {
      alarm 30;
      my $b = ipcm_connect (b => $spawn->info);
      $b->send_message (a => { n => $_, pad => "b" x 2000 }) for 1 .. $n;
      my $got = 0;
      $got += () = $b->get_messages until $got >= $n;
      POSIX::_exit ($got == $n ? 0 : 1);
   }
   ok ((wait_for { defined $a->peer_exists ("b") } 20), "$proto: the other client is there");
   my $got = eval {
      local $SIG{ALRM} = sub { die "stuck\n" };
      alarm 30;
      $a->send_message (b => { n => $_, pad => "a" x 2000 }) for 1 .. $n;
      my $got = 0;
      $got += () = $a->get_messages until $got >= $n;
      $got;
   };
   alarm 0;
   is $got, $n, "$proto: every message of the other arrived, none waited forever" or diag $@;
   is waitpid ($child, 0), $child, "$proto: the other finished";
   is $?, 0, "$proto: having got all of ours";
   undef $a;
   undef $spawn;
}

# when the owner is killed, the services (nested ones too) stop and the
# bus goes away
for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   my $file = tmp () . "/owner.$proto";
   my $owner = fork;
   if (!$owner) {
      ipcm_default_protocol ($proto);
      my $h = ipcm_service (top => (
         on_start => sub {
            my $self = shift;
            my $p = ipcm_service (nested => (handle_request => sub { $$ }));
            $self->{nested} = $p->child_pid;
         },
         handle_request => sub { $_[0]->{nested} },
      ));
      my $nested = $h->sync_request (top => 'x', 10)->{response};
      open my $fh, ">", "$file.tmp" or die;
      print $fh join " ", $h->{spawn}->route, $h->service_pid, $nested;
      close $fh;
      rename "$file.tmp", $file;
      sleep 1 while 1;
   }
   wait_for { -e $file } 20;
   my ($route, $top, $nested) = split ' ', slurp_file ($file);
   ok -d $route, "$proto: bus exists";
   kill KILL => $owner;
   waitpid ($owner, 0);
   my @ok = (
      ok (wait_for (sub { !pid_is_running ($top) }, 30), "$proto: top-level service stopped"),
      ok (wait_for (sub { !pid_is_running ($nested) }, 30), "$proto: nested service stopped"),
      ok (wait_for (sub { !-e $route }, 30), "$proto: bus directory removed"),
   );
   # (what is left, for a failure seen rarely under load)
   if (grep !$_, @ok) {
      for my $pid ($top, $nested) {
         my $state = AEFHelp::proc_state ($pid);
         my $wchan = slurp_file ("/proc/$pid/wchan");
         diag "$proto: process $pid: " . (defined $state ? "state $state, waiting in " . (defined $wchan ? $wchan : "?") : "gone");
      }
      diag "$proto: bus: " . join (" ", map { my $n = $_; $n =~ s{.*/}{}; $n } glob "$route/* $route/.[!.]*") if -d $route;
   }
}

done_testing;
