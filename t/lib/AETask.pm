package AETask;

=head1 NAME

AETask - helpers shared by the AnyEvent::Task tests (t/5*)

=head1 SYNOPSIS

   use lib "t/lib";
   use AEFTest timeout => 30;   # own process group, watchdog
   use AETask;

   my $path = server (interface => sub { \@_ });   # before any watcher
   my $client = AnyEvent::Task::Client->new (connect => ['unix/', $path]);
   my $res = call ($client->checkout, 'method', @args);

=head1 DESCRIPTION

=over

=cut

use strict;
use warnings;

use Exporter qw(import);
use File::Temp ();
use Socket ();
use POSIX ();
use AnyEvent::Task::Server;
use AnyEvent::Task::Client;
use Callback::Frame;

our @EXPORT = qw(sock_path server exec_server wait_listening call call_err free_port);

my @KEEP;

=item $path = sock_path ()

A fresh unix socket path inside a temporary directory of this test.

=cut

sub sock_path {
   my $dir = File::Temp->newdir ("aetXXXXX", TMPDIR => 1);
   push @KEEP, $dir;
   "$dir/s"
}

=item $path = server (%options)

Forks a task server (C<fork_task_server>, list context) listening on a new
unix socket path, unless C<listen> is given. Returns the path, and in list
context also the keep-alive handle and the server's pid. Waits until the
socket accepts connections (it polls for the path: a blocking wait, so no
watcher is created here).

=cut

sub server {
   my (%opt) = @_;
   my $path = $opt{listen} ? undef : sock_path ();
   $opt{listen} ||= ['unix/', $path];
   my ($fh, $pid) = AnyEvent::Task::Server::fork_task_server (%opt);
   push @KEEP, $fh;
   wait_listening ($opt{listen});
   wantarray ? ($path, $fh, $pid) : $path
}

=item wait_listening ([$host, $port])

Blocks until a connection to the listener succeeds (polled every 10 ms,
for at most 10 s).

=cut

sub wait_listening {
   my ($l) = @_;
   for (1 .. 1000) {
      my $s;
      if ($l->[0] eq 'unix/') {
         socket $s, Socket::AF_UNIX (), Socket::SOCK_STREAM (), 0 or die "socket: $!";
         return 1 if connect $s, Socket::pack_sockaddr_un ($l->[1]);
      } else {
         socket $s, Socket::AF_INET (), Socket::SOCK_STREAM (), 0 or die "socket: $!";
         return 1 if connect $s, Socket::pack_sockaddr_in ($l->[1], Socket::inet_aton ($l->[0]));
      }
      select undef, undef, undef, 0.01;
   }
   die "server at @$l never listened";
}

=item $pid = exec_server ($listen, $perl, %opt)

Starts a server in a new perl process (usable after the event loop has
started): C<$perl> runs first (for example to replace a function), then
C<< AnyEvent::Task::Server->new (listen => $listen, interface => { pid =>
sub { $$ }, sleep => ... })->run >>. C<stderr> names a file for its standard
error, C<env> adds environment, C<interface> more entries of the interface
hash (perl code: C<< "gen => sub { $main::gen }," >>). Returns when it
listens.

=cut

sub exec_server {
   my ($listen, $perl, %opt) = @_;
   my $pid = fork;
   die "fork: $!" unless defined $pid;
   if (!$pid) {
      open STDERR, ">>", $opt{stderr} if $opt{stderr};
      open STDIN, "<", "/dev/null";
      %ENV = (%ENV, %{ $opt{env} || {} });
      my $code = $perl . q{;
         use AnyEvent::Task::Server;
         AnyEvent::Task::Server->new (
            listen => [$ARGV[0], $ARGV[1]],
            interface => {
               pid   => sub { $$ },
               sleep => sub { select undef, undef, undef, $_[0]; $$ },
               MORE
            },
         )->run;
      };
      my $more = defined $opt{interface} ? $opt{interface} : "";
      $code =~ s/\bMORE\b/$more/;
      exec $^X, (map "-I$_", grep !ref, @INC), "-e", $code, @$listen
         or POSIX::_exit (127);
   }
   wait_listening ($listen);
   $pid
}

=item $result = call ($checkout, $method, @args)

Calls C<$method> (C<undef>: the coderef form) and runs the loop until the
reply. Dies with the error if the call fails.

=item ($ok, $value) = call_err ($checkout, $method, @args)

The same, returning C<(1, $result)> or C<(0, $error)>.

=cut

sub call_err {
   my ($co, $method, @args) = @_;
   my $cv = AE::cv;
   frame_try {
      my $cb = sub { $cv->send (1, $_[1]) };
      defined $method ? $co->$method (@args, $cb) : $co->(@args, $cb);
   } frame_catch {
      $cv->send (0, $@);
   };
   $cv->recv
}

sub call {
   my ($ok, $v) = call_err (@_);
   die $v unless $ok;
   $v
}

=item $port = free_port ()

A TCP port on 127.0.0.1 that was free a moment ago.

=cut

sub free_port {
   socket my $s, Socket::AF_INET (), Socket::SOCK_STREAM (), 0 or die "socket: $!";
   bind $s, Socket::pack_sockaddr_in (0, Socket::inet_aton ("127.0.0.1")) or die "bind: $!";
   (Socket::unpack_sockaddr_in (getsockname $s))[0]
}

=back

=cut

1
