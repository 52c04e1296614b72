use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use POSIX ();
use Socket ();
use IPC::Manager::Core ();

# the wait step of the service loop, as IPC::Manager::Core::Loop->wait
# returns it: every entry (the usual form), or only those that are not
# empty (with the last argument true, as the service loop asks)

my $loop = IPC::Manager::Core::Loop->new;
isa_ok $loop, 'IPC::Manager::Core::Loop';
my @KEYS = qw(gone r reaped sigs w);

# waits (repeating while nothing happened) until $done->($res) is true
sub wait_until {
   my ($done, @args) = @_;
   for (1 .. 500) {
      my $res = $loop->wait (@args);
      return $res if $done->($res);
   }
   return undef;
}

# nothing happens: every entry empty, or none at all
my $res = $loop->wait ([], [], [], [], 0, 0.01);
is_deeply [sort keys %$res], \@KEYS, "timeout: every entry";
is_deeply $res, { r => [], w => [], gone => [], sigs => {}, reaped => {} }, "timeout: all empty";
is_deeply $loop->wait ([], [], [], [], 0, 0.01, 1), {}, "timeout, sparse: nothing";
is_deeply $loop->wait ([], [], [], [], 0, 0.01, 0), $res, "sparse false: every entry";

# a readable and a writable handle
socketpair (my $x, my $y, Socket::AF_UNIX (), Socket::SOCK_STREAM (), 0) or die "socketpair: $!";
syswrite $y, "z";
$res = $loop->wait ([$x], [], [], [], 0, 5);
is_deeply $res->{r}, [$x], "readable: the handle itself";
is_deeply $res->{w}, [], "nothing writable asked";
is_deeply $loop->wait ([$x], [], [], [], 0, 5, 1), { r => [$x] }, "readable, sparse: only r";
is_deeply $loop->wait ([fileno $x], [], [], [], 0, 5, 1), { r => [fileno $x] }, "a descriptor number: as given";
sysread $x, my $buf, 1;
is_deeply $loop->wait ([$x], [$y], [], [], 0, 5, 1), { w => [$y] }, "writable, sparse: only w";

# a child reaped, with its raw wait status
my $pid = fork;
defined $pid or die "fork: $!";
POSIX::_exit (3) unless $pid;
$res = wait_until (sub { $_[0]{reaped} && %{ $_[0]{reaped} } }, [], [], [], [], 1, 5, 1);
is_deeply $res, { reaped => { $pid => 3 << 8 } }, "reaped, sparse: only reaped, raw status";

# a watched pid gone (a zombie counts as gone)
$pid = fork;
defined $pid or die "fork: $!";
POSIX::_exit (0) unless $pid;
$res = wait_until (sub { $_[0]{gone} }, [], [], [], [$pid], 0, 5, 1);
is_deeply $res, { gone => [$pid] }, "gone, sparse: only gone";
$res = $loop->wait ([], [], [], [$pid], 0, 5);
is_deeply $res->{gone}, [$pid], "gone: the pid";
is_deeply $res->{reaped}, {}, "not reaped without \$reap";
waitpid $pid, 0;

# a signal, counted: a child sends it until told to stop
{
   local $SIG{USR1} = sub { };
   pipe (my $stop_r, my $stop_w) or die "pipe: $!";
   my $parent = $$;
   $pid = fork;
   defined $pid or die "fork: $!";
   if (!$pid) {
      close $stop_w;
      my $rin = '';
      vec ($rin, fileno $stop_r, 1) = 1;
      while (1) {
         kill USR1 => $parent;
         last if select (my $rout = $rin, undef, undef, 0.02);
      }
      POSIX::_exit (0);
   }
   close $stop_r;
   my $usr1 = POSIX::SIGUSR1 ();
   $res = wait_until (sub { $_[0]{sigs} }, [], [], [$usr1], [], 0, 5, 1);
   is_deeply [keys %$res], ['sigs'], "signal, sparse: only sigs";
   ok $res->{sigs}{$usr1} >= 1, "signal: counted under its number";
   close $stop_w;
   waitpid $pid, 0;
}

# errors
like eval { IPC::Manager::Core::Loop::wait ("x", [], [], [], [], 0, 0); 1 } ? '' : $@,
   qr/^IPC::Manager::Core::Loop: not a loop object/, "not a loop object";
like eval { $loop->wait (["nope"], [], [], [], 0, 0); 1 } ? '' : $@,
   qr/^IPC::Manager::Core::Loop: descriptor: not a file handle or descriptor at /, "not a descriptor";
like eval { $loop->wait ([], [], ["USR1"], [], 0, 0); 1 } ? '' : $@,
   qr/^IPC::Manager::Core::Loop: not a number: USR1/, "not a signal number";

done_testing;
