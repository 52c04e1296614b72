use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use IPC::Manager qw(ipcm_service ipcm_worker ipcm_default_protocol);
use IPCMScenarios qw(wait_for slurp_file tmp);
use IPC::Manager::Service ();
use IPC::Manager::Service::Handle ();
use POSIX ();

# ipcm_service builds the service's client before it forks (with its
# descriptors open, unregistered) and, for a top-level service, the
# parent's handle too (registered). The child lets go of the handle's
# descriptors and registers its client when run first uses it, as it would
# connect - or, when nothing of the service's own runs before that (no
# on_start, post_fork, signals to grab, own run), first thing after the
# fork, in one step in C. What that must not change: the service registers
# under its name with its own pid and its $0, the handle's client is the
# caller's, the service holds none of the handle's descriptors (a service
# writing to a handle that is gone must see it gone) and the caller none of
# the service's, a request sent the moment the service is ready is served,
# an entry left by a dead client is replaced and one of a live client is
# not, and classes with their own client method or handle class are still
# served by them.

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
      return $0 if $req->{request} eq 'name';
      return join ' ', sort keys %{ fd_set_of ($$) } if $req->{request} eq 'fds';
      if ($req->{request} eq 'sock') {
         my ($s) = grep defined, @{ $self->client }{qw(_sock _listen)};
         return readlink "/proc/$$/fd/" . fileno $s;
      }
      return $self->client->id . ' ' . $self->client->pid;
   }));
   # (asked the moment it is ready)
   my $pid = ask ($h, svc => 'pid');
   is $h->service_pid, $pid, "$proto: the service registered its own pid";
   is $h->child_pid, $pid, "$proto: the forked process";
   is ask ($h, svc => 'who'), "svc $pid", "$proto: its client, under its name, in its process";
   is ask ($h, svc => 'name'), "$0 svc", "$proto: its \$0, named once";
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
      my $theirs = ask ($h, svc => 'sock');
      like $theirs, qr/^socket:\[\d+\]\z/, "$proto: the service's socket";
      ok !fd_set_of ($$)->{$theirs}, "$proto: the caller does not hold it";
   }
   undef $h;

   # a service that came and went leaves the caller no descriptor (its
   # copies of the service's, the handle's, the teardown's pidfds)
   SKIP: {
      skip "no /proc/PID/fd here", 2 unless -d "/proc/$$/fd";
      my $count = sub { my @fd = glob "/proc/$$/fd/*"; scalar @fd };
      my $before = $count->();
      my $x = ipcm_service (x => (handle_request => sub { 1 }));
      ask ($x, x => 1);
      undef $x;
      is $count->(), $before, "$proto: a service came and went: no descriptor left";
      # the bus torn down while the handle lives (as when the handle's
      # fields happen to be freed in that order)
      $x = ipcm_service (x => (handle_request => sub { 1 }));
      ask ($x, x => 1);
      my $spawn = delete $x->{spawn};
      undef $spawn;
      undef $x;
      is $count->(), $before, "$proto: the bus went first: no descriptor left";
   }

   # the service's entry is there already: of a client that is gone (its
   # entry and pidfile are replaced), of one that lives (left alone: the
   # service fails to register, saying why; the name is in use, and the
   # caller sees it in use)
   {
      my $spawn = IPC::Manager::ipcm_spawn ();
      my $gone = fork;
      if (!$gone) { $spawn->connect ('old'); POSIX::_exit (0) }
      waitpid $gone, 0;
      ok -e "$spawn->{route}/old.pid", "$proto: a gone client's entry";
      my $o = ipcm_service (old => (ipcm_info => "$spawn", handle_request => sub { $$ }));
      my $pid = ask ($o, old => 1);
      is $o->service_pid, $pid, "$proto: replaced by the service's";
      undef $o;
      my $live = $spawn->connect ('live');
      my $err = tmp () . "/live.$proto";
      open my $save, ">&", \*STDERR or die;
      open STDERR, ">", $err or die;
      my $l = ipcm_service (live => (ipcm_info => "$spawn", handle_request => sub { 1 }));
      open STDERR, ">&", $save or die;
      ok wait_for { (slurp_file ($err) || '') =~ /^live \S.* already exists at /m }, "$proto: the service said why";
      is $l->service_pid, $$, "$proto: the name is the live client's";
      is $live->peer_pid ('live'), $$, "$proto: its pidfile is left alone";
      ok $live->_entry_ok ($live->path), "$proto: and its entry";
      $live->disconnect;
      undef $live;
      undef $spawn;
   }

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

# the two steps of the core behind it, from Perl
{
   require Errno;
   require Socket;
   my $dir = tmp () . "/core";
   mkdir $dir or die $!;
   my $w = IPC::Manager::Core::register_entry ('dir', "$dir/e", undef, $$, 1);
   ok defined $w && -d "$dir/e", "register_entry: a folder";
   is ((IPC::Manager::Core::pidfile_wait ("$dir/e.pid", undef, 0)), $$, "register_entry: its pidfile");
   POSIX::close ($w) if $w >= 0;
   ok !defined IPC::Manager::Core::register_entry ('dir', "$dir/e", undef, $$), "register_entry: the entry exists";
   ok $!{EEXIST}, "register_entry: \$! says so";
   socket (my $s, Socket::AF_UNIX (), Socket::SOCK_DGRAM (), 0) or die $!;
   is IPC::Manager::Core::register_entry ('dgram', "$dir/d", $s, $$), -1, "register_entry: a socket (no watch)";
   ok -S "$dir/d", "register_entry: bound";
   ok !eval { IPC::Manager::Core::register_entry ('bogus', "$dir/b", undef, $$); 1 }, "register_entry: a bad kind";
   like $@, qr/^IPC::Manager::Core::register_entry: unknown kind 'bogus' at /, "register_entry: its error";
   ok !eval { IPC::Manager::Core::register_entry ('stream', "$dir/b", undef, $$); 1 }, "register_entry: a socket is required";
   like $@, qr/^socket: not a file handle or descriptor at /, "register_entry: its error";
   my $fd = fileno $s;
   is IPC::Manager::Core::fds_release ($s), 1, "fds_release: one released";
   is fileno $s, $fd, "fds_release: the handle keeps its number";
   is ((stat $s)[6], (stat "/dev/null")[6], "fds_release: it is /dev/null now");
   close $s;
   is IPC::Manager::Core::fds_release ($fd), 0, "fds_release: a closed descriptor is not released";
   ok $!{EBADF}, "fds_release: \$! says why";
   ok !eval { IPC::Manager::Core::fds_release ("x"); 1 }, "fds_release: not a handle";
   like $@, qr/^descriptor: not a file handle or descriptor at /, "fds_release: its error";
}

done_testing;
