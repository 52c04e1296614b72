use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use IPC::Manager qw(ipcm_service ipcm_worker ipcm_default_protocol);
use IPCMScenarios qw(wait_for slurp_file tmp);
use IPC::Manager::Service ();
use IPC::Manager::Service::Handle ();

# ipcm_service builds the service's client before it forks (with its
# descriptors open, unregistered); the child registers it when run first
# uses the client, as it would connect. What that must not change: the
# service registers under its name with its own pid, the parent's handle
# registers after the fork, in the parent, the service holds none of the
# handle's descriptors (a service writing to a handle that is gone must see
# it gone), and classes with their own client method or handle class are
# still served by them.

# what the descriptors of a process are, as "socket:[inode]" and the like
# (Linux /proc)
sub fd_set_of { my ($pid) = @_; return { map { (readlink ($_) || '') => 1 } glob "/proc/$pid/fd/*" } }

{
   package My::OwnClient;
   our @ISA = ('IPC::Manager::Service');
   # a client method of its own: called instead of the role's
   sub client {
      my $self = shift;
      $self->{own_client_calls}++;
      return $self->SUPER::client (@_);
   }
   package My::Handle;
   our @ISA = ('IPC::Manager::Service::Handle');
   package My::WithHandle;
   our @ISA = ('IPC::Manager::Service');
   sub handle_class { 'My::Handle' }
}
# (the classes are loaded by name)
$INC{"My/$_.pm"} = __FILE__ for qw(OwnClient Handle WithHandle);

# the response to a request
sub ask { my ($h, $to, $what) = @_; return $h->sync_request ($to => $what, 10)->{response} }

for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   ipcm_default_protocol ($proto);

   my $h = ipcm_service (svc => (handle_request => sub {
      my ($self, $req) = @_;
      return $$ if $req->{request} eq 'pid';
      return join ' ', sort keys %{ fd_set_of ($$) } if $req->{request} eq 'fds';
      return $self->client->id . ' ' . $self->client->pid;
   }));
   my $pid = ask ($h, svc => 'pid');
   is $h->service_pid, $pid, "$proto: the service registered its own pid";
   is $h->child_pid, $pid, "$proto: the forked process";
   is ask ($h, svc => 'who'), "svc $pid", "$proto: its client, under its name, in its process";
   is $h->client->pid, $$, "$proto: the handle's client is the caller's";
   ok -e $h->client->path . ".pid", "$proto: the handle registered";

   SKIP: {
      # (sockets have an inode each; inotify descriptors all look alike)
      skip "no socket of the handle's with $proto", 2 if $proto eq 'MessageFiles';
      skip "no /proc/PID/fd here", 2 unless -d "/proc/$$/fd";
      my $c = $h->client;
      my ($sock) = grep defined, @$c{qw(_sock _listen)};
      my $link = readlink "/proc/$$/fd/" . fileno $sock;
      like $link, qr/^socket:\[\d+\]\z/, "$proto: the handle's socket";
      my %theirs = map { ($_ => 1) } split ' ', ask ($h, svc => 'fds');
      ok !$theirs{$link}, "$proto: the service does not hold it";
   }
   undef $h;

   # a worker started from on_start, before the service registers, holds
   # none of the service's descriptors either
   SKIP: {
      skip "no socket of the service's with $proto", 2 if $proto eq 'MessageFiles';
      skip "no /proc/PID/fd here", 2 unless -d "/proc/$$/fd";
      my $file = tmp () . "/wfds.$proto";
      my $ws = ipcm_service (wsvc => (
         on_start => sub {
            ipcm_worker (w => sub {
               open my $fh, '>', "$file.pend" or die $!;
               print $fh join ' ', sort keys %{ fd_set_of ($$) };
               close $fh;
               rename "$file.pend", $file or die $!;
               0;
            });
         },
         handle_request => sub {
            my $c = $_[0]->client;
            my ($s) = grep defined, @$c{qw(_sock _listen)};
            return readlink "/proc/$$/fd/" . fileno $s;
         },
      ));
      my $link = ask ($ws, wsvc => 'socket');
      like $link, qr/^socket:\[\d+\]\z/, "$proto: the service's socket";
      wait_for { -e $file };
      my %theirs = map { ($_ => 1) } split ' ', slurp_file ($file);
      ok !$theirs{$link}, "$proto: a worker started from on_start does not hold it";
      undef $ws;
   }

   # a class with its own client method: its method registers the service
   my $o = ipcm_service (own => (class => 'My::OwnClient', handle_request => sub { $_[0]->{own_client_calls} }));
   ok ask ($o, own => 1) >= 1, "$proto: a class's own client method is used";
   undef $o;

   # a handle class of the service's own: the parent gets one of those
   my $w = ipcm_service (wh => (class => 'My::WithHandle', handle_request => sub { 'ok' }));
   isa_ok $w, 'My::Handle', "$proto: the class's handle class";
   is ask ($w, wh => 1), 'ok', "$proto: and it works";
   undef $w;
}

done_testing;
