package IPCMScenarios;

=head1 NAME

IPCMScenarios - the shared service scenarios, run on one bus protocol (t/41x)

=head1 SYNOPSIS

   use lib "t/lib";
   use AEFTest timeout => 120;
   use IPCMScenarios;
   IPCMScenarios::run_all ("UnixSocket");

=head1 DESCRIPTION

Each scenario is a subtest. Services report what they saw through their
answers or through files in a per-test temporary directory; every wait is
for an event or a state (a response, a file, a process gone), bounded by
the watchdog and by explicit timeouts. C<wait_for> polls a condition; it
never guesses a time.

=cut

use strict;
use warnings;

use Test::More;
use File::Temp ();
use File::Spec ();
use POSIX ();
use Time::HiRes ();
use IPC::Manager qw(ipcm_service ipcm_worker ipcm_spawn ipcm_connect ipcm_reconnect ipcm_default_protocol);
use IPC::Manager::Message ();

use Exporter qw(import);
our @EXPORT_OK = qw(wait_for quiet slurp_file tmp);

my $TMP;
sub tmp { $TMP ||= File::Temp::tempdir (CLEANUP => 1) }

# waits until $cond is true, at most $secs seconds; returns its last value
sub wait_for(&;$) {
   my ($cond, $secs) = @_;
   my $end = Time::HiRes::time () + ($secs || 10);
   while (1) {
      my $v = $cond->();
      return $v if $v || Time::HiRes::time () > $end;
      Time::HiRes::sleep (0.01);
   }
}

sub slurp_file {
   my ($f) = @_;
   open my $fh, "<", $f or return undef;
   local $/;
   return scalar <$fh>;
}

sub spit {
   my ($f, $d) = @_;
   open my $fh, ">", "$f.tmp" or die "$f: $!";
   print $fh $d;
   close $fh;
   rename "$f.tmp", $f or die "$f: $!";
}

# runs $cb with STDERR (inherited by the services it starts) in a file;
# returns what was written there
sub quiet(&) {
   my ($cb) = @_;
   my $file = tmp () . "/stderr.$$." . int (rand 1e9);
   open my $save, ">&", \*STDERR or die;
   open STDERR, ">", $file or die;
   my $ok = eval { $cb->(); 1 };
   my $err = $@;
   open STDERR, ">&", $save or die;
   die $err unless $ok;
   return slurp_file ($file);
}

sub exec_cmd {
   my @inc = grep { !ref && -d } @INC;
   return [ map { "-I" . File::Spec->rel2abs ($_) } grep { m{blib|t/lib|^lib} } @inc ];
}

my @SCENARIOS = qw(
   simple_service generic nested_services exec_service workers suspend_and_reconnect sync_request
   sync_request_peer_exits_after_response multiple_requests handle_messages_buffer service_callbacks
   service_on_pid service_signal_handling peer_active disconnect_with_handler try_message
   general_messages_to_service intercept_errors watch_pids spawn_terminate_with_signal cleave
   request_error_generic request_error_detailed post_fork_hook child_pid child_pid_nested
   child_pid_unset child_pid_interpose
);

sub run_all {
   my ($proto, @only) = @_;
   ipcm_default_protocol ($proto);
   my $n = 0;
   for my $s (@SCENARIOS) {
      $n++;
      next if @only && !grep $_ eq $s, @only;
      no strict 'refs';
      subtest "$n $s ($proto)" => sub { &{"s_$s"} ($proto) };
   }
}

sub echo_service {
   my ($name, %p) = @_;
   return ipcm_service ($name, handle_request => sub { my ($s, $r) = @_; "echo: $r->{request}" }, %p);
}

########################################################################

sub s_simple_service {
   my $dir = tmp ();
   my $mark = "$dir/simple_term.$$";
   my $h = ipcm_service (foo => sub {
      my ($self, $act) = @_;
      for my $m (@{ $act->{messages} || [] }) {
         my $c = $m->content;
         if (ref $c eq 'HASH' && $c->{ipcm_request_id}) {
            $self->send_response ($m->from, $c->{ipcm_request_id},
               $c->{request}{hello} eq 'world' ? "$$ blah!" : "wrong payload");
         }
         spit ($mark, "terminate") if $m->is_terminate;
      }
   });
   isa_ok $h, 'IPC::Manager::Service::Handle';
   my $got;
   $h->send_request (foo => { hello => 'world' }, sub { $got = $_[0] });
   $h->await_all_responses (10);
   is $got->{response}, $h->service_pid . " blah!", "callback got the answer";
   undef $h;
   is slurp_file ($mark), "terminate", "the service saw the terminate message";
}

sub s_generic {
   my ($proto) = @_;
   my @w;
   local $SIG{__WARN__} = sub { push @w, $_[0] };
   my $spawn = ipcm_spawn (do_sanity_check => 1);
   my $info = $spawn->info;
   is "$spawn", $info, "stringifies to info";
   my $d = IPC::Manager::Serializer::JSON->deserialize ($info);
   is_deeply $d, ["IPC::Manager::Client::$proto", 'IPC::Manager::Serializer::JSON', $spawn->route], "info decodes";
   my @c = map ipcm_connect ("con$_", $info), 1 .. 3;
   $c[0]->send_message (con2 => { a => 1 });
   $c[0]->send_message (con3 => "a string");
   $c[1]->send_message (con1 => { b => 2 });
   my (@got1, @got2, @got3);
   wait_for { push @got2, $c[1]->get_messages; @got2 >= 1 };
   wait_for { push @got3, $c[2]->get_messages; @got3 >= 1 };
   wait_for { push @got1, $c[0]->get_messages; @got1 >= 1 };
   is_deeply $got2[0]->content, { a => 1 }, "hash message";
   is $got3[0]->content, "a string", "string message";
   is $got1[0]->from, "con2", "from";
   my $res = $c[0]->broadcast ({ all => 1 });
   is_deeply [sort keys %$res], [qw(con2 con3)], "broadcast skips the sender";
   my (@b2, @b3);
   wait_for { push @b2, $c[1]->get_messages; @b2 };
   wait_for { push @b3, $c[2]->get_messages; @b3 };
   for my $m ($b2[0], $b3[0]) {
      ok defined $m->{$_}, "broadcast copy has $_" for qw(id stamp from to content);
      ok $m->broadcast, "marked broadcast";
   }
   $_->write_stats for @c;
   is_deeply $c[0]->read_stats, { sent => { con2 => 2, con3 => 2 }, read => { con2 => 1 } }, "con1 stats";
   is_deeply $c[1]->read_stats, { sent => { con1 => 1 }, read => { con1 => 2 } }, "con2 stats";
   $c[0]->send_message (con2 => { unread => 1 });
   my $route = $spawn->route;
   @c = ();
   undef $spawn;
   is scalar (@w), 2, "exactly two warnings" or diag explain \@w;
   like $w[0], qr/^Messages waiting at disconnect for con2/, "unread message reported";
   like $w[1], qr/Messages sent vs received mismatch:.*\n    1 con1 -> con2\n/s, "sanity mismatch";
   ok !-e $route, "route removed";
}

sub s_nested_services {
   my $h = ipcm_service (outer_svc => (
      on_start => sub {
         my $self = shift;
         ipcm_service (inner_svc => (handle_request => sub { "inner: $_[1]{request}" }));
         $self->peer ('inner_svc')->ready (0);
      },
      handle_request => sub {
         my ($self, $req, $msg) = @_;
         my $from = $msg->from;
         $self->peer ('inner_svc')->send_request ($req->{request}, sub {
            my ($resp) = @_;
            $self->send_response ($from, $req->{ipcm_request_id}, "outer: $resp->{response}");
         });
         return;
      },
      handle_response => sub {
         my ($self, $resp) = @_;
         my $e = delete $self->{_RESPONSE_HANDLER}{ $resp->{ipcm_response_id} } or return;
         $e->{cb}->($resp);
      },
   ));
   my $r = $h->sync_request (outer_svc => "hello", 20);
   is $r->{response}, "outer: inner: hello", "forwarded through the nested service";
}

sub s_exec_service {
   my $h = ipcm_service (exec_echo => (
      class => 'IPC::Manager::Service::Echo',
      exec  => { cmd => exec_cmd () },
   ));
   my $r = $h->sync_request (exec_echo => "ping", 20);
   is $r->{response}, "echo: ping", "exec'd service answers";
   isnt $h->service_pid, $$, "from another process";
   ok $h->child_pid, "child pid";
}

sub s_workers {
   my $dir = tmp ();
   my ($short, $long) = ("$dir/w_short.$$", "$dir/w_long.$$");
   my $h = ipcm_service (wsvc => (
      on_start => sub {
         ipcm_worker (short => sub { spit ($short, "done"); 0 });
         ipcm_worker (long  => sub {
            $SIG{TERM} = sub { spit ($long, "TERM"); POSIX::_exit (0) };
            spit ("$long.started", 1);
            sleep 1 while 1;
         });
      },
      handle_request => sub { scalar keys %{ $_[0]->workers || {} } },
   ));
   ok wait_for { -e $short }, "short worker ran";
   ok wait_for { -e "$long.started" }, "long worker runs";
   cmp_ok $h->sync_request (wsvc => 'count', 10)->{response}, '>=', 1, "workers() counts";
   undef $h;
   ok wait_for (sub { -e $long }, 5), "long worker got TERM";
}

sub s_suspend_and_reconnect {
   my ($proto) = @_;
   my $class = "IPC::Manager::Client::$proto";
   if (!$class->suspend_supported) {
      my $spawn = ipcm_spawn ();
      my $c = $spawn->connect ('s');
      ok !eval { $c->suspend; 1 }, "suspend refused";
      like $@, qr/^suspend is not supported by the $proto driver/, "error text";
      return;
   }
   my $spawn = ipcm_spawn ();
   my $a = $spawn->connect ('a');
   my $b = $spawn->connect ('b');
   $a->send_message (b => 'one');
   $b->suspend;
   $a->send_message (b => 'two');
   my $b2 = ipcm_reconnect ('b', $spawn->info);
   my @m;
   wait_for { push @m, $b2->get_messages; @m >= 2 };
   is_deeply [map $_->content, @m], ['one', 'two'], "both delivered, in order";
}

sub s_sync_request {
   my $h = ipcm_service (sync_svc => (handle_request => sub { "sync_echo: $_[1]{request}" }));
   my $r = $h->sync_request (sync_svc => "hello_sync", 10);
   is ref $r, 'HASH', "a hash";
   is $r->{response}, "sync_echo: hello_sync", "answer";
}

sub s_sync_request_peer_exits_after_response {
   for my $i (1 .. 5) {
      my $h = ipcm_service ("exit_svc$i" => (
         handle_request => sub { $_[0]->{answered} = 1; "bye $i" },
         should_end     => sub { $_[0]->{answered} },
      ));
      my $id = $h->send_request ("exit_svc$i" => "x");
      waitpid ($h->child_pid, 0);
      my $r = eval { $h->await_response ($id) };
      is $r && $r->{response}, "bye $i", "round $i: answer after the peer exited" or diag $@;
   }
}

sub s_multiple_requests {
   my $h = echo_service ('multi');
   my %got;
   $h->send_request (multi => "r$_", sub { $got{ $_[0]{response} } = 1 }) for 1 .. 5;
   $h->await_all_responses (10);
   is_deeply [sort keys %got], [map "echo: r$_", 1 .. 5], "all five";
}

sub s_handle_messages_buffer {
   my $h = ipcm_service (notify => (handle_request => sub {
      my ($self, $req, $msg) = @_;
      $self->client->send_message ($msg->from, { note => 'hi' });
      return "ack";
   }));
   is $h->sync_request (notify => 'x', 10)->{response}, "ack", "ack";
   wait_for { $h->poll (0); @{ $h->{buffer} } };
   my @m = $h->messages;
   is scalar (@m), 1, "one notification";
   is_deeply $m[0]->content, { note => 'hi' }, "its content";
   is_deeply [$h->messages], [], "then nothing";
}

sub s_service_callbacks {
   my $dir = tmp ();
   my ($stop, $clean) = ("$dir/cb_stop.$$", "$dir/cb_clean.$$");
   my $h = ipcm_service (cbsvc => (
      interval       => 0.1,
      on_interval    => sub { $_[0]->{intervals}++ },
      on_peer_delta  => sub { my ($s, $d) = @_; $s->{delta}{$_} = $d->{$_} for keys %$d },
      should_end     => sub { -e $stop },
      on_cleanup     => sub { spit ($clean, "clean") },
      handle_request => sub { my $s = shift; { intervals => $s->{intervals} || 0, delta => $s->{delta} || {} } },
   ));
   # a first answer proves the loop runs (the peer set is primed before it)
   $h->sync_request (cbsvc => "s", 10);
   my $extra = ipcm_connect (extra_peer => $h->ipcm_info);
   my $last;
   ok wait_for { $last = $h->sync_request (cbsvc => "s", 10); $last->{response}{delta}{extra_peer} }, "on_peer_delta saw the new peer" or diag explain [$last, [$h->client->peers], `ls -la $h->{spawn}{route}`];
   ok wait_for { $h->sync_request (cbsvc => 's', 10)->{response}{intervals} >= 2 }, "on_interval fires";
   spit ($stop, 1);
   waitpid ($h->child_pid, 0);
   is slurp_file ($clean), "clean", "should_end stopped it, on_cleanup ran";
}

sub s_service_on_pid {
   my $h = ipcm_service (pidsvc => (
      on_pid => sub { my ($s, $pid, $st) = @_; $s->{seen}{$pid} = $st },
      handle_request => sub {
         my ($s, $req) = @_;
         if ($req->{request} eq 'fork') {
            my $pid = fork;
            POSIX::_exit (5) unless $pid;
            return $pid;
         }
         return $s->{seen} || {};
      },
   ));
   my $pid = $h->sync_request (pidsvc => 'fork', 10)->{response};
   ok $pid, "forked $pid";
   my $st = wait_for { $h->sync_request (pidsvc => 'seen', 10)->{response}{$pid} };
   is $st >> 8, 5, "on_pid got the raw status";
}

sub s_service_signal_handling {
   my $h = ipcm_service (sigsvc => (
      on_sig => { USR1 => sub { $_[0]->{usr1}++ } },
      handle_request => sub { $_[0]->{usr1} || 0 },
   ));
   kill USR1 => $h->service_pid;
   ok wait_for (sub { $h->sync_request (sigsvc => 'n', 10)->{response} }, 5), "handler ran";
}

sub s_peer_active {
   my $spawn = ipcm_spawn ();
   my $a = $spawn->connect ('pa');
   my $b = $spawn->connect ('pb');
   ok $a->peer_active ('pb'), "connected peer is active";
   ok $b->peer_active ('pa'), "and the other way";
   ok !$a->peer_active ('nobody'), "unknown name is not";
}

sub s_disconnect_with_handler {
   my @w;
   local $SIG{__WARN__} = sub { push @w, $_[0] };
   my $spawn = ipcm_spawn ();
   my $a = $spawn->connect ('da');
   my $b = $spawn->connect ('db');
   $a->send_message (db => 'first');
   $a->send_message (db => 'second');
   wait_for { $b->ready_messages };
   my @got;
   $b->disconnect (sub { my ($c, $msgs) = @_; push @got, @$msgs });
   is_deeply [map $_->content, IPC::Manager::Message::sort_messages (@got)], ['first', 'second'], "handler got both";
   is_deeply \@w, [], "no warning";
}

sub s_try_message {
   my $spawn = ipcm_spawn ();
   my $a = $spawn->connect ('ta');
   my $b = $spawn->connect ('tb');
   ok scalar ($a->try_message (tb => 'one')), "scalar context";
   my ($ok, $err) = $a->try_message (tb => 'two');
   ok $ok, "list context";
   ok !defined $err, "no error";
   my @m;
   wait_for { push @m, $b->get_messages; @m >= 2 };
   is scalar (@m), 2, "both delivered";
   ($ok, $err) = $a->try_message (nobody => 'x');
   ok !$ok, "unknown peer fails";
   ok $err, "with an error: $err";
}

sub s_general_messages_to_service {
   my $h = ipcm_service (gensvc => (
      on_general_message => sub { my ($s, $m) = @_; $s->{general} = $m->content },
      handle_request => sub { $_[0]->{general} },
   ));
   $h->client->send_message (gensvc => { plain => 'hash' });
   is_deeply wait_for (sub { $h->sync_request (gensvc => 'g', 10)->{response} }), { plain => 'hash' }, "reached on_general_message";
}

sub s_intercept_errors {
   my $h;
   my $err = quiet {
      $h = ipcm_service (errsvc => (
         intercept_errors     => 1,
         expose_error_details => 1,
         interval             => 0.05,
         on_interval          => sub { die "interval boom\n" unless $_[0]->{iv}++ },
         on_peer_delta        => sub { die "delta boom\n" },
         on_general_message   => sub { $_[0]->{gen}++; die "general boom\n" },
         handle_request       => sub {
            my ($s, $r) = @_;
            die "request boom\n" if $r->{request} eq 'die';
            return { iv => $s->{iv} || 0, gen => $s->{gen} || 0 };
         },
      ));
      $h->sync_request (errsvc => 'ok', 10);
      my $extra = ipcm_connect (err_extra => $h->ipcm_info);
      $h->client->send_message (errsvc => { hi => 1 });
      my $r = $h->sync_request (errsvc => 'die', 10);
      like $r->{ipcm_error}, qr/request boom/, "error exposed";
      ok !defined $r->{response}, "no response";
      my $st = wait_for { my $x = $h->sync_request (errsvc => 'ok', 10)->{response}; $x->{iv} >= 2 && $x->{gen} ? $x : undef };
      ok $st, "still serving after the callbacks died";
      undef $extra;
   };
   like $err, qr/interval boom/, "interval exception reported";
   like $err, qr/Peer 'errsvc' caught exception: general boom/, "debug line";
   undef $h;
}

sub s_watch_pids {
   my $dir = tmp ();
   my ($ans, $clean) = ("$dir/wp_ans.$$", "$dir/wp_clean.$$");
   my $spawn = ipcm_spawn ();
   my $info = $spawn->info;
   my $pid = fork;
   if (!$pid) {
      my $h = ipcm_service (wpsvc => (
         ipcm_info => $info,
         watch_pids => [$$],
         handle_request => sub { "alive" },
         on_cleanup => sub { spit ($clean, "cleanup") },
      ));
      spit ($ans, $h->sync_request (wpsvc => 'x', 10)->{response});
      POSIX::_exit (0);
   }
   waitpid ($pid, 0);
   is slurp_file ($ans), "alive", "the child got its answer";
   ok wait_for (sub { -e $clean }, 10), "the service noticed and ran on_cleanup";
}

sub s_spawn_terminate_with_signal {
   my $dir = tmp ();
   my $mark = "$dir/usr1.$$";
   my $h = ipcm_service (usrsvc => (
      on_sig => { USR1 => sub { spit ($mark, "USR1") } },
      handle_request => sub { "ok" },
   ));
   is $h->sync_request (usrsvc => 'x', 10)->{response}, "ok", "request";
   $h->{spawn}->{signal} = 'USR1';
   undef $h;
   is slurp_file ($mark), "USR1", "on_sig ran before the service stopped";
}

sub s_cleave {
   my $spawn = ipcm_spawn ();
   my $pid = $spawn->cleave;
   if (!$pid) { sleep 1 while 1 }
   isnt $pid, $$, "pid of the grandchild";
   is $spawn->pid, $pid, "ownership moved";
   my $c = $spawn->connect ('after_cleave');
   ok $c, "bus still usable";
   undef $c;
   kill KILL => $pid;
   $spawn->unspawn;
   ok !-e $spawn->route, "unspawned";
}

sub s_request_error_generic {
   my $h;
   quiet {
      $h = ipcm_service (gerr => (handle_request => sub { die "secret text\n" if $_[1]{request} eq 'die'; "fine" }));
      is $h->sync_request (gerr => 'a', 10)->{response}, "fine", "before";
      my $r = $h->sync_request (gerr => 'die', 10);
      is $r->{ipcm_error}, 'Internal service error', "generic error";
      ok !defined $r->{response}, "no response";
      unlike $r->{ipcm_error}, qr/secret/, "secret hidden";
      is $h->sync_request (gerr => 'b', 10)->{response}, "fine", "after";
      undef $h;
   };
}

sub s_request_error_detailed {
   my $h;
   quiet {
      $h = ipcm_service (derr => (expose_error_details => 1,
         handle_request => sub { die "detail boom\n" if $_[1]{request} eq 'die'; "fine" }));
      like $h->sync_request (derr => 'die', 10)->{ipcm_error}, qr/detail boom/, "detail exposed";
      is $h->sync_request (derr => 'b', 10)->{response}, "fine", "still working";
      undef $h;
   };
}

sub s_post_fork_hook {
   my $dir = tmp ();
   my $mid = "$dir/pf_mid.$$";
   my $h = ipcm_service (pfsvc => (
      post_fork => sub {
         my $pid = fork;
         if ($pid) { spit ($mid, $$); POSIX::_exit (0) }
      },
      on_start => sub { $_[0]->{started_in} = $$ },
      handle_request => sub { "pfh_" . $_[0]->{started_in} },
   ));
   my $spid = $h->service_pid;
   is $h->sync_request (pfsvc => 'x', 10)->{response}, "pfh_$spid", "answer from the grandchild";
   # (the middle process writes its pid, then exits: once it is reaped,
   # the file is there, however late it ran after its fork)
   waitpid ($h->child_pid, 0);
   is $h->child_pid, slurp_file ($mid), "child_pid is the middle process";
   ok !kill (0, $h->child_pid), "which is gone";
   isnt $spid, $h->child_pid, "service pid differs";
}

sub s_child_pid {
   my $h = echo_service ('cpid');
   like $h->child_pid, qr/^\d+\z/, "numeric";
   ok kill (0, $h->child_pid), "alive";
   is $h->child_pid, $h->service_pid, "equals service_pid";
}

sub s_child_pid_nested {
   my $h = ipcm_service (cpouter => (
      on_start => sub {
         my $self = shift;
         my $p = ipcm_service (cpinner => (handle_request => sub { "inner" }));
         $self->{_inner_cpid} = $p->child_pid;
      },
      handle_request => sub { $_[0]->{_inner_cpid} },
   ));
   like $h->sync_request (cpouter => 'x', 10)->{response}, qr/^\d+\z/, "nested peer's child_pid";
}

sub s_child_pid_unset {
   my $h = IPC::Manager::Service::Handle->new (service_name => 'nope', ipcm_info => 'fake');
   ok !defined $h->child_pid, "undef";
   ok !$h->{client}, "no connection attempted";
}

sub s_child_pid_interpose {
   my $h = ipcm_service (ipsvc => (
      post_fork => sub {
         my $pid = fork;
         if ($pid) { waitpid ($pid, 0); POSIX::_exit (0) }
      },
      handle_request => sub { "ok" },
   ));
   ok kill (0, $h->child_pid), "wrapper alive";
   isnt $h->child_pid, $h->service_pid, "differs from service_pid";
   is $h->sync_request (ipsvc => 'x', 10)->{response}, "ok", "works";
}

1;
