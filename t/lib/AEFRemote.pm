package AEFRemote;

=head1 NAME

AEFRemote - transports and an sshd-in-a-network-namespace fixture for the AnyEvent::Fork::Remote tests (t/15x_remote*)

=head1 SYNOPSIS

   use lib "t/lib";
   use AEFTest timeout => 60;
   use AEFRemote;

   remote_env ();                          # PERL5LIB for the "remote" perls
   for my $t (transports ()) {             # local perl, ssh's pipe semantics
      my ($name, $new) = @$t;
      my ($fh) = run_remote ($new->()->eval ('sub f { ... }'), "f");
   }

   my $sshd = AEFRemote::SSHD->new (max_startups => "100:30:200")
      or plan skip_all => $AEFRemote::SSHD::WHY;
   my $proc = $sshd->remote;               # an AnyEvent::Fork::Remote over ssh
   $sshd->teardown;                        # also done when the test dies

=head1 DESCRIPTION

=over

=cut

use strict;
use warnings;

use Exporter qw(import);
use Cwd ();
use File::Temp ();
use POSIX ();
use AnyEvent ();
use AnyEvent::Fork::Remote ();

our @EXPORT = qw(remote_env remote_lib transports pipe_cmd run_remote cpu_of);

=item $lib = remote_lib ($arch)

The absolute build directories of this distribution on C<@INC>, joined
for C<PERL5LIB>: C<blib/lib> and, when C<$arch> is true, C<blib/arch>
(without it a perl cannot load the compiled core and the RPC backends use
their pure-Perl loops).

=cut

sub remote_lib {
   my ($arch) = @_;
   my @dirs = grep !ref && -d && ($arch || !m{blib/arch}), @INC;
   @dirs = grep m{blib}, @dirs if grep m{blib}, @dirs;
   join ":", map Cwd::abs_path ($_), @dirs
}

=item remote_env ()

Sets C<$ENV{PERL5LIB}> to C<remote_lib (1)>: a local perl started as the
"remote" command finds this distribution (the command line's C<-Mblib> or
C<-I> are not passed on).

=cut

sub remote_env {
   $ENV{PERL5LIB} = remote_lib (1);
}

=item @argv = pipe_cmd ()

The argument list for C<new_exec> of a command with ssh's pipe semantics
without ssh: the worker's STDIN is a read-only pipe fed by one C<cat> from
the socket, its STDOUT a write-only pipe read by another C<cat> into the
socket (the C<cat | perl | cat> of ssh sessions). As with ssh, the session
ends when perl exits: the feeding C<cat> is killed then (a plain
C<cat | perl | cat> would wait for more input, holding the socket open).

=cut

sub pipe_cmd {
   ("/bin/sh", "sh", "-c", 'd=$(mktemp -d) && mkfifo "$d/i" "$d/o" || exit 1
      exec 3<&0
      cat <&3 >"$d/i" & i=$!
      cat <"$d/o" & o=$!
      "$0" <"$d/i" >"$d/o"
      kill $i 2>/dev/null; wait $o; rm -r "$d"', $^X)
}

=item @transports = transports ()

C<[$name, $factory]> pairs; C<< $factory->() >> returns a new
AnyEvent::Fork::Remote object: C<local> (this perl started directly),
C<pipe> (C<pipe_cmd>).

=cut

sub transports {
   (
      [local => sub { AnyEvent::Fork::Remote->new_exec ($^X, "perl") }],
      [pipe  => sub { AnyEvent::Fork::Remote->new_exec (pipe_cmd) }],
   )
}

=item ($fh, $async) = run_remote ($proc, $func[, $timeout])

Runs C<< $proc->run ($func, ...) >> and the event loop until the callback
was called (at most C<$timeout> seconds, default 10, after which it
returns C<"timeout">). C<$async> is true when the callback was not called
from within C<run>.

=cut

sub run_remote {
   my ($proc, $func, $timeout) = @_;
   my $cv = AE::cv;
   my $in_run = 1;
   my $async;
   my $t = AE::timer $timeout || 10, 0, sub { $cv->send ("timeout") };
   $proc->run ($func, sub { $async = !$in_run; $cv->send ($_[0]) });
   $in_run = 0;
   ($cv->recv, $async)
}

=item $seconds = cpu_of ($pid)

User plus system CPU time of a process (from /proc), undef when it is gone.

=cut

sub cpu_of {
   my ($pid) = @_;
   open my $fh, "<", "/proc/$pid/stat" or return undef;
   # the process may go between the open and the read
   defined (my $stat = <$fh>) or return undef;
   $stat =~ s/^.*\) //s;
   my @f = split / /, $stat;
   ($f[11] + $f[12]) / POSIX::sysconf (POSIX::_SC_CLK_TCK ())
}

=back

=head2 AEFRemote::SSHD

A real sshd on a "remote host": a network namespace made for the test,
reached over a veth pair, with throwaway host and client keys, its own
configuration, port and log, all in a temporary directory.

C<< AEFRemote::SSHD->new (%opt) >> returns the fixture, or undef with the
reason in C<$AEFRemote::SSHD::WHY> when it cannot be made here (not root,
no C<ip netns>, no sshd or ssh). Options: C<max_startups> (sshd's
C<MaxStartups>; sshd's default when not given).

Teardown - killing every process in the namespace, deleting the namespace
(the veth pair goes with it) and the temporary directory - is done by a
guardian process in a session of its own, which waits for the end of a
pipe held by the test: it happens however the test ends, also when it is
killed (by the watchdog, which kills the test's process group, not the
guardian). C<teardown> triggers it and waits until it is complete.

=over

=cut

package AEFRemote::SSHD;

use strict;
use warnings;

our $WHY;
my $SEQ = 0;

my $SSHD = "/usr/sbin/sshd";

sub _which {
   my ($prog) = @_;
   for (split /:/, "$ENV{PATH}:/usr/sbin:/sbin") {
      return "$_/$prog" if -x "$_/$prog";
   }
   undef
}

sub _run {
   my (@cmd) = @_;
   system (@cmd) == 0
      or die "AEFRemote::SSHD: @cmd: exit status $?\n";
}

sub new {
   my ($class, %opt) = @_;

   $> == 0                        or return $WHY = "needs root (network namespaces)", undef;
   my $ip = _which ("ip")         or return $WHY = "no ip (iproute2)", undef;
   -x $SSHD                       or return $WHY = "no $SSHD (openssh-server)", undef;
   my $ssh = _which ("ssh")       or return $WHY = "no ssh (openssh-client)", undef;
   my $keygen = _which ("ssh-keygen") or return $WHY = "no ssh-keygen", undef;
   system ("$ip netns list >/dev/null 2>&1") == 0
                                  or return $WHY = "ip netns does not work here", undef;

   my $dir = File::Temp::tempdir ("aefremote-XXXXXX", TMPDIR => 1, CLEANUP => 0);
   my $seq = $SEQ++ % 4; # up to 4 fixtures in one process
   my $id = ($$ % 4096) * 4 + $seq;
   my $self = bless {
      dir  => $dir,
      ns   => "aefr$$" . "x$seq",
      host => "aefh$$" . "x$seq",
      peer => "aefn$$" . "x$seq",
      # a /30 of 10.213.0.0/16 of our own
      addr => join (".", 10, 213, $id >> 6, ($id & 63) * 4 + 2),
      me   => join (".", 10, 213, $id >> 6, ($id & 63) * 4 + 1),
      port => 2222,
      ip   => $ip,
      ssh  => $ssh,
   }, $class;

   $self->_guardian;

   my $ok = eval { $self->_setup ($keygen, %opt); 1 };
   unless ($ok) {
      $WHY = "cannot start sshd in a namespace: $@";
      $self->teardown;
      return undef;
   }

   $self
}

# the guardian: own session, nothing of ours open but the two pipes
sub _guardian {
   my ($self) = @_;

   pipe my $alive_r, my $alive_w or die "pipe: $!";
   pipe my $done_r,  my $done_w  or die "pipe: $!";

   my $pid = fork;
   defined $pid or die "fork: $!";

   unless ($pid) {
      POSIX::setsid ();
      close $alive_w;
      close $done_r;
      open STDIN,  "<", "/dev/null";
      open STDOUT, ">", "/dev/null";
      open STDERR, ">", "/dev/null";
      # the test's sockets must see end-of-file when the test ends
      opendir my $d, "/proc/self/fd";
      my %keep = map +(fileno $_ => 1), $alive_r, $done_w;
      POSIX::close ($_) for grep /^\d+$/ && $_ > 2 && !$keep{$_}, readdir $d;
      $SIG{$_} = "IGNORE" for qw(HUP INT TERM PIPE);
      sysread $alive_r, my $buf, 1; # returns when the test is gone
      $self->_cleanup;
      POSIX::_exit (0);
   }

   close $alive_r;
   close $done_w;
   $self->{alive} = $alive_w;
   $self->{done}  = $done_r;
   $self->{guard} = $pid;
}

sub _cleanup {
   my ($self) = @_;
   my ($ip, $ns) = @$self{qw(ip ns)};

   # every process in the namespace (sshd and its sessions), then the namespace
   for my $sig (qw(TERM KILL)) {
      my @pids = grep /^\d+$/, split /\s+/, `$ip netns pids $ns 2>/dev/null`;
      last unless @pids;
      kill $sig, @pids;
      select undef, undef, undef, 0.05 if $sig eq "TERM";
   }
   system "$ip netns del $ns 2>/dev/null";
   system "$ip link del $self->{host} 2>/dev/null"; # when never moved
   system "rm", "-rf", $self->{dir};
}

sub _setup {
   my ($self, $keygen, %opt) = @_;
   my ($ip, $ns, $dir) = @$self{qw(ip ns dir)};

   _run ($ip, "netns", "add", $ns);
   _run ($ip, "link", "add", $self->{host}, "type", "veth", "peer", "name", $self->{peer});
   _run ($ip, "link", "set", $self->{peer}, "netns", $ns);
   _run ($ip, "addr", "add", "$self->{me}/30", "dev", $self->{host});
   _run ($ip, "link", "set", $self->{host}, "up");
   _run ($ip, "-n", $ns, "addr", "add", "$self->{addr}/30", "dev", $self->{peer});
   _run ($ip, "-n", $ns, "link", "set", $self->{peer}, "up");
   _run ($ip, "-n", $ns, "link", "set", "lo", "up");

   for my $key (qw(host client)) {
      _run ("$keygen -q -t ed25519 -N '' -f $dir/$key >/dev/null 2>&1");
   }
   _run ("cp", "$dir/client.pub", "$dir/authorized_keys");

   open my $fh, ">", "$dir/sshd_config" or die "sshd_config: $!";
   print $fh <<EOF;
ListenAddress $self->{addr}:$self->{port}
HostKey $dir/host
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
LogLevel ERROR
UseDNS no
PrintMotd no
PrintLastLog no
EOF
   print $fh "MaxStartups $opt{max_startups}\n" if $opt{max_startups};
   close $fh or die "sshd_config: $!";

   -d "/run/sshd" or mkdir "/run/sshd", 0755 or die "/run/sshd: $!";
   _run ("$SSHD -t -f $dir/sshd_config");
   _run ($ip, "netns", "exec", $ns, $SSHD, "-f", "$dir/sshd_config", "-E", "$dir/sshd.log");

   # ready when it accepts a connection (bounded by the test's watchdog)
   require IO::Socket::INET;
   until (IO::Socket::INET->new (PeerAddr => $self->{addr}, PeerPort => $self->{port}, Timeout => 1)) {
      select undef, undef, undef, 0.01;
   }
}

=item @argv = $sshd->ssh_cmd ($remote_command[, $port])

The argument list for C<new_exec> that runs C<$remote_command> on the
namespace's sshd (or another port there): batch mode, the throwaway key,
no host key check, ssh's own messages appended to F<ssh.log> in the
fixture's directory (ssh makes its stderr non-blocking; it must not be the
test's).

=cut

sub ssh_cmd {
   my ($self, $remote, $port) = @_;
   my $dir = $self->{dir};

   ("/bin/sh", "sh", "-c", "exec \"\$0\" \"\$@\" 2>>$dir/ssh.log",
    $self->{ssh}, "-F", "/dev/null", "-i", "$dir/client",
    "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
    "-o", "KexAlgorithms=curve25519-sha256",
    "-p", $port || $self->{port}, "root\@$self->{addr}", $remote)
}

=item $cmd = $sshd->perl_cmd ($lib)

The remote command starting this perl with C<PERL5LIB> set to C<$lib>
(ssh does not pass the environment on); C<$lib> undef: without
C<PERL5LIB>.

=cut

sub perl_cmd {
   my ($self, $lib) = @_;
   defined $lib ? "exec env PERL5LIB=$lib $^X" : "exec env -u PERL5LIB $^X";
}

=item $proc = $sshd->remote ([$lib[, $port]])

An AnyEvent::Fork::Remote object for this perl over ssh, with
C<PERL5LIB> C<$lib> (default: C<remote_lib (1)>).

=cut

sub remote {
   my ($self, $lib, $port) = @_;
   $lib = AEFRemote::remote_lib (1) if @_ < 2;
   AnyEvent::Fork::Remote->new_exec ($self->ssh_cmd ($self->perl_cmd ($lib), $port))
}

=item $sshd->{ns}, {host}, {addr}, {port}, {dir}, {guard}

The namespace's name (C<aefrPIDxN>, N counting the fixtures of the
process from 0), the veth end outside it, sshd's address and port, the temporary directory,
the guardian's pid.

=item $sshd->teardown

Triggers the guardian's cleanup and waits until it is complete.

=cut

sub teardown {
   my ($self) = @_;
   close delete $self->{alive} if $self->{alive};
   if (my $done = delete $self->{done}) {
      sysread $done, my $buf, 1; # end-of-file: the guardian is done
   }
}

sub DESTROY { $_[0]->teardown }

=back

=cut

1
