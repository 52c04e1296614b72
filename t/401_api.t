use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use POSIX ();
use File::Spec ();
use IPCMScenarios qw(wait_for quiet slurp_file tmp);
use IPC::Manager;
use IPC::Manager::Service ();
use IPC::Manager::Service::Echo ();
use IPC::Manager::Service::Handle ();
use IPC::Manager::Service::Peer ();
use IPC::Manager::Message ();
use IPC::Manager::Client::UnixSocket ();
use IPC::Manager::Client::ConnectionUnix ();
use IPC::Manager::Client::MessageFiles ();
use Role::Tiny ();

my $L; # line of the last call, for the croak locations
sub err(&) { my $cb = shift; my $ok = eval { $cb->(); 1 }; return $ok ? '' : $@ }

# exports and class methods
ok !defined &main::ipcm_service, "nothing exported by default";
IPC::Manager->import (qw(ipcm ipcm_service ipcm_worker ipcm_spawn ipcm_connect ipcm_reconnect
   ipcm_default_protocol ipcm_default_protocol_list ipcm_default_serializer));
is ipcm (), 'IPC::Manager', "ipcm()";
is \&ipcm_service, \&IPC::Manager::Service::State::ipcm_service, "same sub";
is_deeply ipcm_default_protocol_list (), [qw(UnixSocket ConnectionUnix MessageFiles)], "default list";
is ipcm()->default_serializer, 'IPC::Manager::Serializer::JSON', "default serializer";
ok !defined ipcm_default_protocol (), "no default protocol yet";
for my $c (qw(IPC::Manager::Service IPC::Manager::Service::Echo)) {
   ok Role::Tiny::does_role ($c, 'IPC::Manager::Role::Service'), "$c does the role";
}
{
   package My::Svc;
   use Role::Tiny::With;
   our @ISA = ('IPC::Manager::Service::Echo');
   with 'IPC::Manager::Role::Service';
}
ok Role::Tiny::does_role ('My::Svc', 'IPC::Manager::Role::Service'), "a user class does it";

# 12.1
like err { ipcm_worker (w => sub {}) }, qr/^ipcm_service_worker\(\) can only be called from inside a service at /, "worker outside";
like err { ipcm_service (x => sub {}) }, qr/^Cannot be called in void context without providing 'ipcm_info' at /, "void";
like err { my $h = ipcm_service (x => (new_ipcm => 1, ipcm_info => 'x', on_all => sub {})) },
   qr/^'new_ipcm' and 'ipcm_info' may not be combined at /, "new_ipcm + ipcm_info";
like err { my $h = ipcm_service (x => (class => 'IPC::Manager::Message')) },
   qr/^'IPC::Manager::Message' does not implement the 'IPC::Manager::Role::Service' role at /, "role check";
ipcm_default_protocol ('MessageFiles');
like err { my $h = ipcm_service (x => (class => 'IPC::Manager::Service::Echo', exec => {}, code => sub {})) },
   qr/encountered CODE\(0x[0-9a-f]+\), but JSON can only represent references to arrays or hashes/,
   "exec mode refuses code references before forking";
{
   my $t = time;
   my $e;
   quiet { $e = err { my $h = ipcm_service (slow => (timeout => 1, on_start => sub { sleep 3 }, on_all => sub {})) } };
   like $e, qr/^Timeout waiting for service to come up after 1s at /, "readiness timeout";
}

# no runner on the stack: the unwinding has nowhere to go
{
   my $dir = tmp ();
   my $spawn = ipcm_spawn ();
   my $pid = fork;
   if (!$pid) {
      my $svc = IPC::Manager::Service->new (name => 'direct', ipcm_info => $spawn->info, pid => $$,
         on_start => sub {
            ipcm_worker (w => sub { 0 });
            my $p = ipcm_service (n => (handle_request => sub { 1 }, timeout => 1));
         }, handle_request => sub { 1 });
      my $ok = eval { $svc->run; 1 };
      open my $fh, ">", "$dir/direct.$$" or die;
      print $fh $ok ? "ok" : $@;
      close $fh;
      POSIX::_exit (0);
   }
   my @texts;
   wait_for { opendir (my $dh, $dir); @texts = map slurp_file ("$dir/$_"), grep /^direct\./, readdir $dh; @texts >= 3 } 15;
   ok scalar (grep /^ipcm_worker: no IPCM_SERVICE jump point on the stack \(worker invoked outside a running service\?\) at /, @texts),
      "worker without a runner";
   ok scalar (grep /^ipcm_service: previous service detected but no IPCM_SERVICE jump point on the stack at /, @texts),
      "nested service without a runner";
   kill KILL => $pid;
}

# 12.2
my %ok = (name => 's', ipcm_info => 'x', handle_request => sub { 1 });
like err { IPC::Manager::Service->new (%ok, post_fork => 1) }, qr/^'post_fork' must be a coderef at /, "post_fork";
like err { IPC::Manager::Service->new (name => 's') }, qr/^Either 'on_all' or 'handle_request' callback is required at /, "callback required";
like err { IPC::Manager::Service->new (name => 's', handle_request => 1) }, qr/^'handle_request' must be a coderef at /, "handle_request";
like err { IPC::Manager::Service->new (%ok, handle_response => 1) }, qr/^'handle_response' must be a coderef at /, "handle_response";
like err { IPC::Manager::Service->new (%ok, on_start => [sub {}, 'x']) }, qr/^All 'on_start' callbacks must be coderefs, got: x at /, "actions";
like err { IPC::Manager::Service->new (%ok, on_sig => []) }, qr/^'on_sig' must be a hashref at /, "on_sig";
like err { IPC::Manager::Service->new (%ok, on_sig => { USR1 => 'y' }) }, qr/^All signal handlers must be coderefs, got: y at /, "signal handlers";
{
   my $s = IPC::Manager::Service->new (name => 's', handle_request => sub { 1 });
   like err { $s->handle_response ({}, undef) }, qr/^Got a response, but no response handler set at .*\n.*IPC::Manager::Service::handle_response/s, "with a stack trace";
   like err { $s->peer ('x') }, qr/^peer\(\) can only be called on the service in the service process at /, "peer() elsewhere";
   like err { $s->handle () }, qr/^'name' is a required parameter at /, "handle() name";
   $s->set_pid (1);
   like err { $s->in_correct_pid }, qr/^Incorrect PID \(did your fork leak\? <$$> vs <1>\) at /, "in_correct_pid";
   is_deeply $s->run_on_all, [], "no on_all";
   $s->push_on_all (my $cb = sub { 42 });
   $s->unshift_on_all (sub { 41 });
   is_deeply $s->run_on_all, [41, 42], "push/unshift/run";
   $s->remove_on_all ($cb);
   is_deeply $s->run_on_all, [41], "remove";
   $s->clear_on_all;
   is_deeply $s->on_all, [], "clear";
   $s->push_should_end (sub { 0 });
   is $s->run_should_end, 0, "should_end false";
   $s->push_should_end (sub { 1 });
   is $s->run_should_end, 1, "should_end true";
   is $s->terminate, 0, "terminate() sets 0";
   is $s->terminate (3), 3, "a true value sticks";
   is $s->terminate (0), 3, "and stays";
   $s->{_WORKERS} = {};
   $s->{_SELECT} = 1;
   $s->clear_service_fields;
   ok !exists $s->{$_}, "$_ cleared" for qw(_TERMINATED _WORKERS _SELECT _RESPONSES);
}
like err { IPC::Manager::Service::Echo->new->run_on_unhandled ({ foo => 1, bar => 2 }) },
   qr/^Failed to handle activity: bar, foo$/m, "unhandled activity";
{
   my $spawn = ipcm_spawn ();
   my $s = IPC::Manager::Service->new (name => 'fails', ipcm_info => $spawn->info, pid => $$,
      intercept_errors => 1, on_start => sub { die "start boom\n" }, handle_request => sub { 1 });
   my $e;
   my $stderr = quiet { $e = err { $s->run } };
   is $e, "Exception in process startup, aborting\n", "startup failure";
   like $stderr, qr/start boom/, "reported";
   my $s2 = IPC::Manager::Service->new (name => 'fails2', ipcm_info => $spawn->info, pid => $$,
      on_start => sub { die "start boom2\n" }, handle_request => sub { 1 });
   is err { $s2->run }, "start boom2\n", "without intercept_errors it propagates";
}

# 12.3
like err { IPC::Manager::Service::Handle->new (ipcm_info => 'x') }, qr/^'service_name' is a required attribute at /, "service_name";
like err { IPC::Manager::Service::Handle->new (service_name => 'x') }, qr/^'ipcm_info' is a required attribute at /, "ipcm_info";
like err { IPC::Manager::Service::Peer->new (service => 1) }, qr/^'name' is required at /, "peer name";
like err { IPC::Manager::Service::Peer->new (name => 1) }, qr/^'service' is required at /, "peer service";
like err { IPC::Manager::Service::Peer->new (name => 1, service => IPC::Manager::Service->new (%ok, pid => 1)) },
   qr/^'service' must be the current process at /, "peer pid";
{
   my $h = ipcm_service (silent => (handle_request => sub { return }));
   my $id = $h->send_request (silent => 'x');
   like err { $h->await_response ($id, 0.3) }, qr/^await_response: timed out after 0.3s waiting for response '\Q$id\E' at /, "await timeout";
   like err { $h->await_all_responses (0.3) }, qr/^await_all_responses: timed out after 0.3s with pending responses at /, "await_all timeout";
   like err { $h->get_response ('nope') }, qr/^Not expecting a response with id 'nope' at /, "unknown id";
   my $id2 = $h->send_request (silent => 'y', sub {});
   like err { $h->get_response ($id2) }, qr/^Response id '\Q$id2\E' has a callback assigned, cannot use both get_response\(\) and a callback at /, "callback id";
   like err { $h->handle_response ({ ipcm_response_id => 'zz' }) }, qr/^Got an unexpected response for 'zz' at /, "unexpected";
   $h->handle_response ({ ipcm_response_id => $id, response => 1 });
   like err { $h->handle_response ({ ipcm_response_id => $id, response => 2 }) }, qr/^Got an extra response for '\Q$id\E' at /, "extra";
   is_deeply [$h->pending_response_peer ($id2)], ['silent', $h->service_pid], "pending_response_peer";
   delete $h->{_RESPONSE_HANDLER};
   push @{ $h->{buffer} }, 'm1';
   is_deeply [$h->messages], ['m1'], "buffer returned";
   is_deeply [$h->messages], [], "and cleared";
}
{
   my $e;
   my $stderr = quiet {
      my $h = ipcm_service (twice => (handle_request => sub { return (1, 2) }));
      my $id = $h->send_request (twice => 'x');
      $e = err { $h->await_response ($id, 10) };
   };
   like $stderr, qr/^Incorrect number of responses to request at /m, "two values kill the service";
   like $e, qr/^peer 'twice' went away while awaiting response/, "the caller sees it gone";
}

# 12.4
ipcm_default_protocol (undef);
like err { ipcm_spawn (protocols => ['Nope']) }, qr/^Could not find a viable protocol at /, "no viable protocol";
{
   package My::Unviable;
   our @ISA = ('IPC::Manager::Client::MessageFiles');
   sub _viable { die "no way\n" }
   $INC{'My/Unviable.pm'} = 1;
}
{
   my @w;
   local $SIG{__WARN__} = sub { push @w, @_ };
   my $s = ipcm_spawn (protocols => ['+My::Unviable', 'MessageFiles']);
   is $s->protocol, 'IPC::Manager::Client::MessageFiles', "skips the unviable one";
   is_deeply \@w, ["'My::Unviable' is not viable: no way\n"], "with a warning";
}
# the route directory: the default name (made without File::Temp), File::Temp
# for a template or tempdir options, and a directory that cannot be made
{
   my $s = ipcm_spawn (protocol => 'MessageFiles', guard => 0);
   like $s->route, qr{/PerlIPCManager-$$-\w{6}\z}, "default route name";
   is ((stat $s->route)[2] & 07777, 0700, "mode 0700");
   $s->unspawn;
   ok !-e $s->route, "removed";
   $s = ipcm_spawn (protocol => 'MessageFiles', guard => 0, template => 'MyBusXXXXXX');
   like $s->route, qr{/MyBus\w{6}\z}, "template";
   $s->unspawn;
   $s = ipcm_spawn (protocol => 'MessageFiles', guard => 0, DIR => tmp ());
   like $s->route, qr{^\Q${\ tmp ()}\E/PerlIPCManager-$$-\w{6}\z}, "tempdir options";
   $s->unspawn;
   local $ENV{TMPDIR} = '/proc';
   SKIP: {
      skip "no /proc to fail in", 1 unless File::Spec->tmpdir eq '/proc';
      like err { ipcm_spawn (protocol => 'MessageFiles') },
         qr{^Error in tempdir\(\) using /proc/PerlIPCManager-$$-XXXXXX: Could not create directory /proc/PerlIPCManager-$$-\w{6}: },
         "a route that cannot be made";
   }
}
# USE_INOTIFY: Linux::Inotify2 is loaded when asked, not with the modules;
# IPC_MANAGER_NO_INOTIFY turns it off
{
   my @inc = map "-I$_", grep !ref, @INC;
   local $ENV{IPC_MANAGER_NO_INOTIFY} = 0;
   my $probe = 'print exists $INC{"Linux/Inotify2.pm"} ? 1 : 0, IPC::Manager::Util::USE_INOTIFY () ? 1 : 0';
   my $out = `$^X @inc -MIPC::Manager -MIPC::Manager::Service -e '$probe'`;
   like $out, qr/^0[01]\z/, "loading the modules does not load Linux::Inotify2";
   my $have = eval { require Linux::Inotify2; Linux::Inotify2->VERSION (2.3); 1 } ? 1 : 0;
   is substr ($out, 1), $have, "USE_INOTIFY: whether Linux::Inotify2 2.3 can be used";
   $ENV{IPC_MANAGER_NO_INOTIFY} = 1;
   is `$^X @inc -MIPC::Manager -e '$probe'`, "00", "and false with IPC_MANAGER_NO_INOTIFY";
}

# the core's readiness wait: the pidfile naming a live process
{
   my $dir = tmp ();
   is IPC::Manager::Core::pidfile_wait ("$dir/none.pid", undef, 0.05), 0, "pidfile_wait: times out";
   open my $fh, ">", "$dir/me.pid" or die $!;
   print $fh "$$\n";
   close $fh;
   my $w = IPC::Manager::Core::watch ($dir, 1);
   is IPC::Manager::Core::pidfile_wait ("$dir/me.pid", $w, 5), $$, "a live pid";
   is IPC::Manager::Core::pidfile_wait ("$dir/none.pid", 999999, 5), undef, "a bad watch: undef";
   ok $!{EBADF}, "with \$!";
}
like err { ipcm_connect ('x', sub {}) }, qr/^Not sure what to do with CODE/, "bad cinfo";
like err { ipcm_spawn (serializer => {}) }, qr/^Don't know how to interpret serializer spec 'HASH/, "bad serializer";
like err { IPC::Manager::Message->new (to => 'x', content => 1) }, qr/^'from' is a required attribute at /, "from";
like err { IPC::Manager::Message->new (from => 'x', to => 'y') }, qr/^'content' is a required attribute at /, "content";
like err { IPC::Manager::Message->new (from => 'x', content => 1) }, qr/^Message must either have a 'to' or 'broadcast' attribute at /, "to";
{
   my $m = IPC::Manager::Message->new (from => 'a', to => 'b', content => { terminate => 1 });
   ok $m->is_terminate, "is_terminate";
   my $c = $m->clone (to => 'c');
   isnt $c->id, $m->id, "clone gets a new id";
   is $c->to, 'c', "and the override";
   like $m->id, qr/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}\z/, "a v4 UUID";
}

# 12.5
for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   my $class = "IPC::Manager::Client::$proto";
   my $type = $class->path_type;
   my $spawn = ipcm_spawn (protocol => $proto);
   my ($ser, $route) = ($spawn->serializer, $spawn->route);
   like err { $class->new (route => $route, id => 'x') }, qr/^'serializer' is a required attribute at /, "$proto serializer";
   like err { $class->new (serializer => $ser, id => 'x') }, qr/^'route' is a required attribute at /, "$proto route";
   like err { $class->new (serializer => $ser, route => $route) }, qr/^'id' is a required attribute at /, "$proto id";
   like err { $spawn->connect ('_x') }, qr/^'id' may not begin with an underscore at /, "$proto underscore";
   my $a = $spawn->connect ('a');
   like err { $spawn->connect ('a') }, qr/^a \Q$type\E already exists at /, "$proto already exists";
   like err { ipcm_reconnect ('zz', $spawn->info) }, qr/^zz \Q$type\E does not exist at /, "$proto does not exist";
   like err { ipcm_reconnect ('a', $spawn->info) }, qr/^Looks like the connection is already running in pid $$ at /, "$proto running";
   like err { $a->peer_exists (undef) }, qr/^'peer_id' is required at /, "$proto peer_id";
   {
      # the pidfile cannot be written: the step that failed, with the reason
      # (in a route of its own: the entries stay, unregistered)
      my $r = tmp () . "/pf$proto";
      mkdir $r and mkdir "$r/p.pid.pend" and mkdir "$r/q.pid" and mkdir "$r/q.pid/x" or die "mkdir: $!";
      like err { $class->connect ('p', $ser, $r) }, qr/^Could not open '\Q$r\E\/p\.pid\.pend': .+ at /,
         "$proto pidfile: open";
      like err { $class->connect ('q', $ser, $r) }, qr/^Could not rename '\Q$r\E\/q\.pid\.pend': .+ at /,
         "$proto pidfile: rename";
      ok !-e "$r/q.pid.pend", "$proto pidfile: no .pend file left behind";
      # where no file may grow, writing it fails (in a shell with ulimit -f 0)
      my $code = 'use IPC::Manager::Client::' . $proto . '; $SIG{XFSZ} = "IGNORE"; '
         . 'eval { IPC::Manager::Client::' . $proto . '->connect ("w", "IPC::Manager::Serializer::JSON", $ARGV[0]) }; print $@';
      my $out = `ulimit -f 0 2>/dev/null && '$^X' @{[ map "'-I$_'", grep !ref, @INC ]} -e '$code' '$r'`;
      SKIP: {
         skip "no ulimit -f here", 1 unless defined $out && length $out;
         like $out, qr/^Could not write '\Q$r\E\/w\.pid\.pend': .+ at /, "$proto pidfile: write";
      }
   }
   my $long = "L" x 80;
   my $l = $spawn->connect ($long);
   ok scalar (grep $_ eq $long, $a->peers), "$proto: a long id is mapped and listed";
   $a->send_message ($long => 'to long');
   my @m;
   wait_for { push @m, $l->get_messages; @m };
   is $m[0]->content, 'to long', "$proto: and reachable";
   my $err = $proto eq 'MessageFiles' ? qr/^Client does not exist at / : qr/^'nobody' is not a valid message recipient/;
   like err { $a->send_message (nobody => 1) }, $err, "$proto unknown peer";
   {
      local $a->{pid} = $$ + 1;
      like err { $a->get_messages }, qr/^Client used from wrong PID at /, "$proto wrong pid";
   }
   if ($proto ne 'MessageFiles') {
      like err { $a->send_message (IPC::Manager::Message->new (from => 'a', broadcast => 1, content => 1)) },
         qr/^No peer specified at /, "$proto no peer";
      # a stale socket file: its owner died without removing it
      my $pid = fork;
      if (!$pid) { my $d = $spawn->connect ('stale'); $d->{pid} = 0; POSIX::_exit (0) }
      waitpid ($pid, 0);
      my $path = $a->path ('stale');
      unlink "$path.pid";
      my $t = $proto eq 'UnixSocket' ? qr/^Cannot connect to socket: Connection refused at / : qr/^Cannot connect to '\Q$path\E': Connection refused at /;
      like err { $a->send_message (stale => 1) }, $t, "$proto stale socket";
      unlink $path;
   }
   if ($proto eq 'ConnectionUnix') {
      my $m = $spawn->connect ('marker', listen => 0);
      ok -f $m->path, "marker file";
      like err { $a->send_message (marker => 1) }, qr/^no active connection to 'marker' and peer is not listening at /, "marker refuses";
   }
   if ($proto eq 'MessageFiles') {
      my $b = $spawn->connect ('b');
      my $msg = IPC::Manager::Message->new (from => 'a', to => 'b', content => 1);
      $a->send_message ($msg);
      like err { $a->send_message ($msg) }, qr/^Message file '.*\.ready' already exists at .*\n/s, "duplicate id";
      $b->get_messages;
   }
   $_->disconnect for grep !$_->disconnected, $a, $l;
}

# 12.6
like err { IPC::Manager::Spawn->new (route => 1, serializer => 1) }, qr/^'protocol' is a required attribute at /, "spawn protocol";
like err { IPC::Manager::Spawn->new (protocol => 1, serializer => 1) }, qr/^'route' is a required attribute at /, "spawn route";
like err { IPC::Manager::Spawn->new (protocol => 1, route => 1) }, qr/^'serializer' is a required attribute at /, "spawn serializer";
{
   my $spawn = ipcm_spawn (protocol => 'MessageFiles', guard => 0);
   my $ready = tmp () . "/lingers";
   my $pid = fork;
   if (!$pid) { my $c = $spawn->connect ('lingers'); open my $fh, ">", $ready; close $fh; sleep 1 while 1 }
   wait_for { -e $ready };
   my @w;
   local $SIG{__WARN__} = sub { push @w, @_ };
   $spawn->wait (peer_timeout => 0.3);
   is_deeply \@w, ["IPC::Manager::Spawn: gave up waiting for clients to disconnect after 0.3s: lingers\n"], "gave up";
   kill KILL => $pid;
   waitpid ($pid, 0);
   $spawn->unspawn;
}

done_testing;
