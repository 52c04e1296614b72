use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use IPC::Manager qw(ipcm_service ipcm_default_protocol);
use IPCMScenarios qw(wait_for slurp_file tmp);
use IPC::Manager::Service ();
use IPC::Manager::Core ();
use POSIX ();
use Scalar::Util ();

# What ipcm_service's fork does in one call into the core
# (IPC::Manager::Core::fork_service: the child sets its $0 and registers
# before any Perl runs, each side lets go of the other's descriptors), what
# the child does instead of the caller (the service's orig_io), and what
# the caller keeps instead of freeing it while the service starts (its copy
# of the instance, only when freeing it later changes nothing a program
# sees: IPC::Manager::Core::free_is_quiet). None of it may show.

my $LINUX = -d "/proc/$$/fd";

# device and inode of a handle (what tells a duplicate of it)
sub id_of { my @s = stat $_[0]; return @s ? "$s[0]:$s[1]" : 'closed' }

# the service's orig_io, as device:inode of each handle
sub oio_ids {
   my ($self) = @_;
   my $io = $self->orig_io || {};
   return join ' ', map { $io->{$_} ? id_of ($io->{$_}) : 'none' } qw(stderr stdout stdin);
}

{
   package My::Guard;
   sub new { my ($c, $flag) = @_; return bless { flag => $flag }, $c }
   sub DESTROY { ${ $_[0]{flag} } = 1 }
   package My::OwnInit;
   our @ISA = ('IPC::Manager::Service');
   our $SEEN;
   sub init { my $self = shift; $SEEN = join ' ', sort keys %{ $self->{orig_io} || {} }; $self->SUPER::init (@_) }
}
$INC{"My/$_.pm"} = __FILE__ for qw(Guard OwnInit);

sub ask { my ($h, $to, $what) = @_; return $h->sync_request ($to => $what, 10)->{response} }

my $callers = join ' ', map { id_of ($_) } \*STDERR, \*STDOUT, \*STDIN;

for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   ipcm_default_protocol ($proto);

   # named already when the caller sees it ready
   my $h = ipcm_service (svc => (handle_request => sub { oio_ids ($_[0]) }));
   SKIP: {
      skip "no /proc here", 2 unless $LINUX;
      my $pid = $h->service_pid;
      my $cmd = slurp_file ("/proc/$pid/cmdline");
      my $comm = slurp_file ("/proc/$pid/comm");
      $cmd =~ s/\0+\z//;
      chomp $comm;
      is $cmd, "$0 svc", "$proto: the service's \$0 is set when it is ready";
      is $comm, substr ("$0 svc", 0, 15), "$proto: and its process name";
   }
   # its orig_io: duplicates of the caller's STDERR, STDOUT and STDIN
   is ask ($h, svc => 1), $callers, "$proto: orig_io duplicates the caller's handles";
   my $copy = $h->{_service_copy}[1];
   ok Scalar::Util::blessed ($copy) && $copy->isa ('IPC::Manager::Service') && $copy->name eq 'svc',
      "$proto: the caller's copy of a plain instance goes with the handle";
   ok !exists $copy->{orig_io}, "$proto: it holds no orig_io (the child made it)";
   undef $copy;
   undef $h;

   # a closure holding an object: the caller's copy goes at once, and the
   # object with the caller's last reference to it
   my $gone = 0;
   {
      my $guard = My::Guard->new (\$gone);
      $h = ipcm_service (g => (handle_request => sub { ref $guard }));
      ok !defined $h->{_service_copy}[1], "$proto: not kept when the instance holds an object";
   }
   ok $gone, "$proto: the object went with the caller's last reference, the handle alive";
   is ask ($h, g => 1), 'My::Guard', "$proto: the service has its own";
   undef $h;

   # a closure holding a file handle: closed with the caller's last
   # reference to it
   SKIP: {
      skip "no /proc here", 2 unless $LINUX;
      my $fd;
      {
         open my $fh, '<', $0 or die $!;
         $fd = fileno $fh;
         $h = ipcm_service (f => (handle_request => sub { fileno $fh }));
         ok !defined $h->{_service_copy}[1], "$proto: not kept when the instance holds a file handle";
      }
      ok !-e "/proc/$$/fd/$fd", "$proto: the handle is closed in the caller, the service handle alive";
      undef $h;
   }

   # orig_io given: the service keeps those
   {
      open my $null, '>', '/dev/null' or die $!;
      $h = ipcm_service (o => (orig_io => { stderr => $null }, handle_request => sub { oio_ids ($_[0]) }));
      is ask ($h, o => 1), id_of ($null) . " none none", "$proto: an orig_io given is kept";
      ok !defined $h->{_service_copy}[1], "$proto: (the caller's copy holds a handle: not kept)";
      undef $h;
   }

   # a class with an init of its own sees orig_io among the parameters
   {
      local $My::OwnInit::SEEN;
      $h = ipcm_service (oi => (class => 'My::OwnInit', handle_request => sub { oio_ids ($_[0]) }));
      is $My::OwnInit::SEEN, 'stderr stdin stdout', "$proto: a class's own init sees orig_io";
      is ask ($h, oi => 1), $callers, "$proto: and the service has it";
      undef $h;
   }

   # STDIN closed: no orig_io can be made, as before, in the caller
   {
      open my $save, '<&', \*STDIN or die $!;
      close STDIN;
      # (the first duplicate gets descriptor 0: perl warns that STDIN's
      # number is now an output handle's)
      local $SIG{__WARN__} = sub { warn @_ unless $_[0] =~ /^Filehandle STDIN reopened as / };
      my $ok = eval { my $c = ipcm_service (c => (handle_request => sub { 1 })); 1 };
      my $err = $@;
      open STDIN, '<&', $save or die $!;
      ok !$ok, "$proto: STDIN closed: ipcm_service fails";
      like $err, qr/^Could not clone filehandle: /, "$proto: saying why";
   }
}

# free_is_quiet
{
   my $q = \&IPC::Manager::Core::free_is_quiet;
   my ($x, @a) = (5, 1);
   my $obj = bless {}, 'My::Other';
   open my $fh, '<', $0 or die $!;
   require Tie::Hash;
   tie my %tied, 'Tie::StdHash';
   my $weak = { a => 1 };
   my $w = $weak;
   Scalar::Util::weaken ($w);
   my $cycle = {};
   $cycle->{self} = $cycle;
   ok $q->({ a => 1, b => [1, 2], c => 'x' }), "free_is_quiet: plain data";
   ok $q->(bless { a => 1 }, 'My::Other'), "free_is_quiet: the object itself";
   ok !$q->({ a => $obj }), "free_is_quiet: an object inside";
   ok $q->({ cb => sub { $_[0] + 1 } }), "free_is_quiet: an anonymous sub without variables";
   ok !$q->({ cb => sub { $x + @a } }), "free_is_quiet: a closure (its variables are not looked at)";
   ok !$q->({ cb => sub { $obj } }), "free_is_quiet: a closure over an object";
   ok !$q->({ cb => sub { $fh } }), "free_is_quiet: a closure over a file handle";
   ok !$q->({ fh => $fh }), "free_is_quiet: a file handle";
   ok $q->({ g => \*STDOUT, cb => \&IPC::Manager::Core::pid }), "free_is_quiet: a symbol table's glob, a named sub";
   ok $q->({ cb => sub { print STDERR $0; IPC::Manager::Core::pid () } }), "free_is_quiet: a sub using globals";
   ok !$q->({ t => \%tied }), "free_is_quiet: a tied hash";
   ok !$q->({ h => $weak }), "free_is_quiet: a hash weakly referred to";
   ok !$q->($cycle), "free_is_quiet: a cycle (the budget runs out)";
   ok !$q->([1 .. 300]), "free_is_quiet: more than the budget";
   ok $q->([1 .. 300], 400), "free_is_quiet: a larger budget";
   ok !$q->(1), "free_is_quiet: not a reference";
}

# fork_service
{
   require Socket;
   require Errno;
   my $dir = tmp () . "/fork";
   mkdir $dir or die $!;
   my $fs = \&IPC::Manager::Core::fork_service;

   # errors, before any fork
   ok !eval { $fs->([1]); 1 }, "fork_service: a short registration";
   like $@, qr/^IPC::Manager::Core::fork_service: the registration is not \[kind, path, socket, want_watch, name\] at /,
      "fork_service: its error";
   ok !eval { $fs->(['bogus', "$dir/b", undef, 0, 'x']); 1 }, "fork_service: a bad kind";
   like $@, qr/^IPC::Manager::Core::fork_service: unknown kind 'bogus' at /, "fork_service: its error";
   ok !eval { $fs->(['dgram', "$dir/b", undef, 0, 'x']); 1 }, "fork_service: a socket is required";
   like $@, qr/^socket: not a file handle or descriptor at /, "fork_service: its error";
   ok !eval { $fs->(undef, ['x']); 1 }, "fork_service: not a descriptor to release";
   like $@, qr/^descriptor: not a file handle or descriptor at /, "fork_service: its error";
   ok !eval { $fs->(undef, [(0) x 20], [(0) x 13]); 1 }, "fork_service: too many descriptors";
   like $@, qr/^IPC::Manager::Core::fork_service: more than 32 descriptors to release at /, "fork_service: its error";

   # registered in the child, descriptors released on each side
   socket (my $s, Socket::AF_UNIX (), Socket::SOCK_DGRAM (), 0) or die $!;
   open my $mine, '<', $0 or die $!;
   open my $theirs, '<', $0 or die $!;
   my $out = "$dir/child";
   my ($pid, @rest) = $fs->(['dgram', "$dir/d", $s, 0, 'forked name'], [$mine], [$theirs]);
   if (!$pid) {
      # (reported through a file: the test's own output is the parent's)
      my $null = (stat '/dev/null')[6];
      my $r = join ' ', scalar (@rest), (defined $rest[0] ? $rest[0] : 'undef'), ($0 eq 'forked name' ? 'named' : "named '$0'"),
                        ((stat $mine)[6] == $null ? 'released' : 'kept'), ((stat $theirs)[6] == $null ? 'released' : 'kept');
      open my $fh, '>', "$out.pend" or POSIX::_exit (1);
      print $fh $r;
      close $fh;
      rename "$out.pend", $out;
      POSIX::_exit (0);
   }
   ok $pid > 0, "fork_service: the parent gets the pid";
   is scalar (@rest), 0, "fork_service: and nothing else";
   ok wait_for { -e $out }, "fork_service: the child reported";
   is slurp_file ($out), "1 -1 named released kept", "fork_service: the child named, registered (no watch), its list released";
   is slurp_file ("$dir/d.pid"), $pid, "fork_service: its pidfile";
   ok -S "$dir/d", "fork_service: its socket";
   is ((stat $theirs)[6], (stat '/dev/null')[6], "fork_service: the parent's list released");
   isnt ((stat $mine)[6], (stat '/dev/null')[6], "fork_service: the child's list kept");
   waitpid $pid, 0;

   # a folder with its watch; then the entry exists: undef, $! says why
   unlink $out;
   ($pid, @rest) = $fs->(['dir', "$dir/m", undef, 1, $0]);
   if (!$pid) {
      my $first = defined $rest[0] && $rest[0] >= 0 ? 'watch' : 'none';
      # (the grandchild tells through its exit status)
      my ($gpid, @again) = IPC::Manager::Core::fork_service (['dir', "$dir/m", undef, 0, $0]);
      POSIX::_exit (@again != 1 ? 1 : defined $again[0] ? 2 : $!{EEXIST} ? 3 : 4) if !$gpid;
      waitpid $gpid, 0;
      my $r = "$first " . ({ 1 => 'no second value', 2 => 'registered', 3 => 'EEXIST' }->{ $? >> 8 } || "status $?");
      open my $fh, '>', "$out.pend" or POSIX::_exit (1);
      print $fh $r;
      close $fh;
      rename "$out.pend", $out;
      POSIX::_exit (0);
   }
   ok wait_for { -e $out }, "fork_service: the second child reported";
   # (a watch is made wherever the system has them)
   my $probe = IPC::Manager::Core::watch_open ($dir, 0);
   my $want = defined $probe ? 'watch' : 'none';
   POSIX::close ($probe) if defined $probe;
   is slurp_file ($out), "$want EEXIST", "fork_service: a folder registered (with its watch); a second time: undef, EEXIST";
   ok -d "$dir/m", "fork_service: the folder";
   waitpid $pid, 0;
   1 while waitpid (-1, POSIX::WNOHANG ()) > 0;
}

done_testing;
