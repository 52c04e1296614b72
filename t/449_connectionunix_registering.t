use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM pack_sockaddr_un);
use Time::HiRes ();
use IPCMScenarios qw(wait_for);
use IPC::Manager qw(ipcm_spawn ipcm_connect ipcm_default_protocol);

# ConnectionUnix: a peer registers by binding its socket, listening on it,
# then writing its pidfile. A sender that meets it between the first two
# steps (the socket is there, the peer_exists check passes, but nothing
# listens yet) waits for it to listen instead of failing with "Connection
# refused"; a socket that never listens, or a peer whose pidfile is there,
# still fails with the system's reason.

ipcm_default_protocol ('ConnectionUnix');
my $spawn = ipcm_spawn ();
my $a = ipcm_connect (a => $spawn->info);

# a peer in the middle of registering: bound, listening only once told
# (through a pipe), then its pidfile
sub half_registered {
   my ($name) = @_;
   my $path = $a->path ($name);
   pipe my $r, my $w or die;
   pipe my $bound_r, my $bound_w or die;
   my $pid = fork;
   die "fork: $!" unless defined $pid;
   if (!$pid) {
      close $w; close $bound_r;
      socket (my $s, AF_UNIX, SOCK_STREAM, 0) or POSIX::_exit (1);
      bind ($s, pack_sockaddr_un ($path)) or POSIX::_exit (2);
      syswrite $bound_w, "b";
      my $n = sysread $r, my $go, 1;
      if ($n) {
         listen ($s, 5) or POSIX::_exit (3);
         open my $fh, ">", "$path.pid" or POSIX::_exit (4);
         print $fh $$;
         close $fh;
      }
      # until the test is done with it
      sysread $r, $go, 1;
      POSIX::_exit (0);
   }
   close $r; close $bound_w;
   sysread $bound_r, my $b, 1;
   return ($pid, $w, $path);
}

{
   my ($pid, $go, $path) = half_registered ('late');
   ok $a->peer_exists ('late'), "the half-registered peer's socket is there";
   # it listens a moment after the send has started (a slow machine only
   # makes the send find it listening)
   my $helper = fork;
   if (!$helper) { Time::HiRes::sleep (0.3); syswrite $go, "g"; POSIX::_exit (0) }
   ok eval { $a->send_message (late => { hello => 1 }); 1 }, "a send waits for the peer to listen"
      or diag $@;
   waitpid $helper, 0;
   close $go;
   waitpid $pid, 0;
   unlink $path, "$path.pid";
}

# refused for good: a socket that never listens (the send waits for it,
# then fails), and that of a peer gone without cleaning up, its socket and
# pidfile left (the send fails at once)
for my $case (
   # name, seconds allowed to listen, pidfile left, the send's time, its bound
   ["never", 0.2, 0, '>=', 0.2, "once the peer had its time to listen"],
   ["gone",  30,  1, '<',  15,  "at once, the peer's pidfile being there"],
) {
   my ($name, $allowed, $pidfile, $op, $bound, $when) = @$case;
   local $IPC::Manager::Client::ConnectionUnix::REGISTERING = $allowed;
   my ($pid, $go, $path) = half_registered ($name);
   if ($pidfile) {
      open my $fh, ">", "$path.pid" or die;
      print $fh $pid;
      close $fh;
   }
   my $t0 = Time::HiRes::time ();
   ok !eval { $a->send_message ($name => { hello => 1 }); 1 }, "$name: the send fails";
   like $@, qr/^Cannot connect to '\Q$path\E': Connection refused at /, "$name: with the system's reason";
   cmp_ok Time::HiRes::time () - $t0, $op, $bound, "$name: $when";
   close $go;
   waitpid $pid, 0;
   unlink $path, "$path.pid";
}

undef $a;
undef $spawn;
done_testing;
