use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use POSIX ();
use IPC::Manager qw(ipcm_spawn ipcm_connect);

# A client leaves its entry first and writes its statistics last. A Spawn
# that shuts down while a client of another process is between the two
# waits for that process, so that the statistics file written last does
# not keep the bus folder from being removed (it used to be left behind,
# holding only that file).

# A Spawn's wait for processes leaves no descriptor behind (the pidfds it
# watched them through, the descriptors of the loop it waited in). First in
# the file: nothing of this process has waited before it.
SKIP: {
   skip "no /proc/PID/fd here", 1 unless -d "/proc/$$/fd";
   my $count = sub { my @fd = glob "/proc/$$/fd/*"; scalar @fd };
   my $spawn = ipcm_spawn (protocol => 'UnixSocket');
   my $con = ipcm_connect (waiter => $spawn->info);
   my $before = $count->();
   # (a process that exits a moment later; on a machine so slow that it
   # is gone before the wait begins, the wait has nothing to do and the
   # test shows nothing, but still passes)
   my $pid = fork;
   die "fork: $!" unless defined $pid;
   if (!$pid) { select undef, undef, undef, 0.3; POSIX::_exit (0) }
   $spawn->wait ($con, child_pids => { $pid => 1 });
   ok !kill (0, $pid), "the process was waited for and reaped";
   is $count->(), $before, "no descriptor left by the wait";
   $con->disconnect;
}

for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   my $spawn = ipcm_spawn (protocol => $proto);
   my $route = $spawn->route;
   pipe (my $r, my $w) or die "pipe: $!";
   my $pid = fork;
   die "fork: $!" unless defined $pid;
   if (!$pid) {
      close $r;
      my $con = ipcm_connect (leaver => $spawn->info);
      $con->_pre_disconnect;        # the entry goes ...
      syswrite $w, "x";
      close $w;
      select undef, undef, undef, 1;
      $con->{disconnected} = 1;
      $con->_post_disconnect;
      $con->write_stats;            # ... the statistics come a second later
      POSIX::_exit (0);
   }
   close $w;
   sysread $r, my $buf, 1;
   ok !-e "$route/leaver" && -e "$route/leaver.pid" && !-e "$route/leaver.stats",
      "$proto: the leaving client's entry is gone, its pidfile is there, its statistics are not yet";
   undef $spawn;
   ok !kill (0, $pid), "$proto: the Spawn's shutdown returned after the leaving process was gone";
   ok !-e $route, "$proto: the bus folder was removed";
   waitpid $pid, 0;
}

done_testing;
