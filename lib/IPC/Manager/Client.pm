package IPC::Manager::Client;

use strict;
use warnings;

use Carp qw(croak);
use Errno ();
use Fcntl ();
use File::Path ();
use File::Spec ();
use Scalar::Util qw(weaken blessed);
use Time::HiRes ();
use Digest::SHA ();
use IPC::Manager::Message ();
use IPC::Manager::Util qw(tinysleep);
use IPC::Manager::Base ();
use IPC::Manager::Role::Service::Requests ();
our @ISA = ('IPC::Manager::Base');

our $VERSION = '0.000038';

# the protocol classes of this distribution (see init)
my %OWN = map { ("IPC::Manager::Client::$_" => 1) } qw(UnixSocket ConnectionUnix MessageFiles);

# clients created in this process, per route (weak); forgotten after fork
my %LOCAL;
my $LOCAL_PID = $$;

sub init {
   my $self = shift;
   croak "'serializer' is a required attribute" unless $self->{serializer};
   croak "'route' is a required attribute"      unless defined $self->{route};
   croak "'id' is a required attribute"         unless defined $self->{id} && length $self->{id};
   croak "'id' may not begin with an underscore" if $self->{id} =~ /^_/;
   $self->{pid} ||= $$;
   $self->{stats} ||= { read => {}, sent => {} };
   $self->{send_blocking} = 1 unless exists $self->{send_blocking};
   # the protocols of this distribution with the default serializer encode
   # and decode with its coder directly, and may take unblessed messages
   if (!ref $self->{serializer} && $self->{serializer} eq 'IPC::Manager::Serializer::JSON'
       && $OWN{ ref $self } && defined &IPC::Manager::Serializer::JSON::json) {
      $self->{_json} = IPC::Manager::Serializer::JSON->json;
      $self->{_from_json} = $self->{_json}->encode ($self->{id});
   }
   $self->_register unless $self->{_later};
   return;
}

sub connect {
   my ($class, $id, $serializer, $route, %params) = @_;
   my $self = $class->new (%params, id => $id, serializer => $serializer, route => $route);
   return _local_add ($self);
}

sub _local_add {
   my ($self) = @_;
   if ($LOCAL_PID != $$) { %LOCAL = (); $LOCAL_PID = $$ }
   my $list = $LOCAL{ $self->{route} } ||= [];
   @$list = grep defined, @$list;
   push @$list, $self;
   # (the list assignment copied the others as strong references)
   weaken $_ for @$list;
   return $self;
}

# connect in two halves, for the client of a process about to be forked:
# _prepare (the connect arguments; before the fork) builds the object and
# opens its descriptors (the route watch, a socket protocol's socket,
# unbound) without registering; the forking process drops its copy right
# after the fork, and the child calls _register_later, which registers it
# as connect would have. What the child writes to after the fork costs it a
# copy-on-write fault per page: it only registers then. Protocols of this
# distribution only (undef for others).
sub _prepare {
   my ($class, $id, $serializer, $route, %params) = @_;
   return undef unless $OWN{$class};
   my $self = $class->new (%params, id => $id, serializer => $serializer, route => $route, _later => 1);
   $self->path;
   $self->_open_peer_change;
   $self->_prepare_entry if $self->can ('_prepare_entry');
   return $self;
}

sub _register_later {
   my ($self, $done, $watch) = @_;
   delete $self->{_later};
   $self->{pid} = $$;
   if ($done) {
      # the forked service registered it at once (see _register_args)
      $self->_adopt_entry ($self->path, $watch);
      $self->{_registered} = 1;
   }
   else {
      $self->_register;
   }
   return _local_add ($self);
}

# for a prepared client whose entry and pidfile a forked service makes
# first thing, in one step (IPC::Manager::Core::register_entry): the
# arguments of that step (kind, path, socket, whether a folder gets its
# watch) but the pid, or () when the step would not do all that _register
# does (a reconnect, a hashed name, a protocol without _entry_kind). After
# the step the service calls _register_later (1, the watch's descriptor),
# which takes over the entry (_adopt_entry).
sub _register_args {
   my $self = shift;
   my $kind = $self->can ('_entry_kind') && $self->_entry_kind or return ();
   return () if $self->{reconnect} || !$self->{_later};
   my $path = $self->path;
   return () unless $path eq "$self->{route}/$self->{id}";
   return ($kind, $path, $self->{_unbound}, $kind eq 'dir' && IPC::Manager::Core::have_inotify () ? 1 : 0);
}

sub reconnect {
   my ($class, $id, $serializer, $route, %params) = @_;
   return $class->connect ($id, $serializer, $route, %params, reconnect => 1);
}

sub local_clients {
   my ($class, $route) = @_;
   if ($LOCAL_PID != $$) { %LOCAL = (); $LOCAL_PID = $$ }
   return grep defined, @{ $LOCAL{$route} || [] };
}

# class method of the protocol: create a new route
sub spawn {
   my ($class, %params) = @_;
   my $template = delete $params{template};
   return _make_route () unless defined $template || %params;
   require File::Temp;
   $template = "PerlIPCManager-$$-XXXXXX" unless $template;
   return File::Temp::tempdir ($template, TMPDIR => 1, %params, CLEANUP => 0);
}

# what File::Temp::tempdir makes of the default template, without loading
# File::Temp: TMPDIR/PerlIPCManager-PID-XXXXXX, mode 0700
sub _make_route {
   my $dir = File::Spec->tmpdir;
   my $route;
   for (1 .. 100) {
      $route = "$dir/PerlIPCManager-$$-" . substr (IPC::Manager::Core::uuid (), 0, 6);
      return $route if mkdir $route, 0700;
      last unless $!{EEXIST};
   }
   croak "Error in tempdir() using $dir/PerlIPCManager-$$-XXXXXX: Could not create directory $route: $!";
}

sub unspawn {
   my ($class, $route) = @_;
   File::Path::rmtree ($route) if defined $route && -d $route;
   return;
}

sub viable {
   my $class = shift;
   my $ok = eval { $class->_viable; 1 };
   return 1 if $ok;
   warn "'$class' is not viable: $@";
   return 0;
}

sub _viable { 1 }

__PACKAGE__->_accessors (ro => [qw(id pid route disconnected serializer stats)]);

sub suspend_supported { 0 }

sub pid_check {
   my $self = shift;
   croak "Client used from wrong PID" unless $self->{pid} == IPC::Manager::Core::pid ();
   return;
}

sub pid_is_running {
   my ($self, $pid) = @_;
   return IPC::Manager::Util::pid_is_running ($pid);
}

########################################################################
# the file registry shared by the three protocols

# longest endpoint path the protocol accepts (sockets: sun_path)
sub _path_budget { 4000 }

sub disk_name {
   my ($self, $id) = @_;
   my $route = $self->{route};
   my $budget = $self->_path_budget - length ($route) - 1;
   return $id if length ($id) <= $budget && $id !~ m{[/\0]} && $id !~ /^H[0-9a-f]{41}\z/;
   croak "Cannot map peer id '$id' to on-disk name: hashed form (42 bytes) exceeds available budget ($budget bytes) under route '$route'"
      if $budget < 42;
   return "H" . substr (Digest::SHA::sha1_hex ($id) . Digest::SHA::sha1_hex ("x$id"), 0, 41);
}

# the name of an id only depends on the route and the id: kept per id
sub path {
   my ($self, $id) = @_;
   $id = $self->{id} unless defined $id;
   return $self->{_paths}{$id} ||= "$self->{route}/" . $self->disk_name ($id);
}

sub _read_file {
   my ($file) = @_;
   open my $fh, "<", $file or return undef;
   local $/;
   my $data = <$fh>;
   return $data;
}

# write through NAME.pend and rename: readers see all or nothing
sub _write_atomic {
   my ($file, $data) = @_;
   my $tmp = "$file.pend";
   open my $fh, ">", $tmp or die "Could not open '$tmp': $!";
   print $fh $data;
   close $fh or die "Could not write '$tmp': $!";
   rename $tmp, $file or die "Could not rename '$tmp': $!";
   return;
}

# the pidfile, as _write_atomic would write it (steps, errors), in C: no
# Perl handle to build in a process that has just forked
sub _write_pid {
   my ($file) = @_;
   my $step = IPC::Manager::Core::pidfile_put ($file, $$) or return;
   die "Could not " . ('', 'open', 'write', 'rename')[$step] . " '$file.pend': $!";
}

sub _file_pid {
   my ($file) = @_;
   my $pid = _read_file ($file);
   return (defined $pid && $pid =~ /^(\d+)/) ? $1 : 0;
}

sub _remove_artefacts {
   my ($self, $path) = @_;
   $self->_remove_entry ($path);
   for my $ext (qw(.pid .name .resume .stats .suspend)) {
      unlink "$path$ext", "$path$ext.pend";
   }
   return;
}

sub _remove_entry {
   my ($self, $path) = @_;
   if (-d $path && !-l $path) { File::Path::rmtree ($path) } else { unlink $path }
   return;
}

sub _register {
   my $self = shift;
   my $path = $self->path;
   my $exists = -e $path || -l $path;
   if ($self->{reconnect}) {
      croak "$self->{id} " . $self->path_type . " does not exist" unless $exists;
      my $pid = _file_pid ("$path.pid");
      croak "Looks like the connection is already running in pid $pid"
         if $pid && IPC::Manager::Util::pid_is_running ($pid);
      my $stats = _read_file ("$path.stats");
      $self->{stats} = $self->{serializer}->deserialize ($stats) if defined $stats && length $stats;
      $self->{_resume} = 1 if -e "$path.resume";
      $self->_open_entry ($path);
   }
   else {
      if ($exists) {
         my $pid = _file_pid ("$path.pid");
         croak "$self->{id} " . $self->path_type . " already exists"
            unless $pid && !IPC::Manager::Util::pid_is_running ($pid);
         $self->_remove_artefacts ($path);
      }
      $self->_make_entry ($path);
      # (a hashed name: the path does not end in the id)
      _write_atomic ("$path.name", $self->{id}) if $path ne "$self->{route}/$self->{id}";
   }
   $self->_open_peer_change;
   _write_pid ("$path.pid");
   unlink "$path.suspend";
   # only a registered client cleans up after itself
   $self->{_registered} = 1;
   return;
}

# entries of the route that are live peers: name => path
sub _scan {
   my $self = shift;
   my $route = $self->{route};
   opendir my $dh, $route or return {};
   my %out;
   my $own = $self->disk_name ($self->{id});
   for my $e (readdir $dh) {
      next if $e =~ /^[._]/;
      next if $e =~ /\.(?:pid|name|resume|stats|suspend|pend)\z/;
      next if $e eq $own;
      my $path = "$route/$e";
      next unless $self->_entry_ok ($path);
      my $pid = _file_pid ("$path.pid");
      next if $pid && !IPC::Manager::Util::pid_is_running ($pid);
      my $name = $e;
      if (-e "$path.name") {
         my $real = _read_file ("$path.name");
         $name = $real if defined $real && length $real;
      }
      $out{$name} = $path;
   }
   return \%out;
}

sub peers {
   my $self = shift;
   my @peers = sort keys %{ $self->_scan };
   return @peers;
}

sub peer_exists {
   my ($self, $peer) = @_;
   croak "'peer_id' is required" unless defined $peer;
   my $path = $self->{_paths}{$peer} || $self->path ($peer);
   return $self->_entry_ok ($path) ? $path : undef;
}

# pidfiles are replaced by rename, so a new pid comes with a new inode:
# the pid read last time is reused while the inode stays the same
# ({_pidcache}{PEER}: [pidfile, inode, pid])
sub peer_pid {
   my ($self, $peer) = @_;
   croak "'peer_id' is required" unless defined $peer;
   my $path = $self->{_paths}{$peer} || $self->path ($peer);
   return undef unless $self->_entry_ok ($path);
   my $c = $self->{_pidcache}{$peer} ||= ["$path.pid", 0, 0];
   my $ino = IPC::Manager::Core::file_ino ($c->[0]);
   return 0 unless $ino;
   @$c[1, 2] = ($ino, _file_pid ($c->[0])) unless $c->[1] == $ino;
   return $c->[2];
}

# the pid a request records (see send_request): peer_pid without looking
# at the entry, which the send that follows needs anyway (it fails when the
# entry is gone); one stat per request (in C: a stat in perl builds a list
# of thirteen values)
sub _request_pid {
   my $c = defined $_[1] && $_[0]->{_pidcache}{ $_[1] };
   my $ino = $c && IPC::Manager::Core::file_ino ($c->[0]);
   return $ino && $c->[1] == $ino ? $c->[2] : $_[0]->peer_pid ($_[1]);
}

sub peer_active {
   my ($self, $peer, $timeout) = @_;
   my $pid = $self->peer_pid ($peer);
   return 1 if $pid && IPC::Manager::Util::pid_is_running ($pid);
   return 0 unless defined $timeout;
   my $deadline = $timeout > 0 ? Time::HiRes::time () + $timeout : undef;
   my $path = $self->path ($peer);
   while (1) {
      my $left = $deadline ? $deadline - Time::HiRes::time () : 1;
      return 0 if $left <= 0;
      # sleeps in C until the pidfile names a live process (woken by the
      # route watch; without one it looks every 50 ms): the readiness
      # check after a fork runs as little Perl as possible
      my $pid = IPC::Manager::Core::pidfile_wait ("$path.pid", $self->{_peer_change}, $left);
      return 1 if $pid && $self->_entry_ok ($path);
      # a live pid without its entry, or a watch that failed: look again soon
      $self->_wait_peer_change ($left < 0.05 ? $left : 0.05) unless defined $pid && !$pid;
   }
}

sub _wait_peer_change {
   my ($self, $secs) = @_;
   my @fh = $self->handles_for_peer_change;
   if (@fh) {
      my $rin = '';
      vec ($rin, fileno $_, 1) = 1 for @fh;
      select (my $rout = $rin, undef, undef, $secs);
      $self->reset_handles_for_peer_change;
   }
   else {
      tinysleep ($secs);
   }
   return;
}

sub suspend_file { $_[0]->path . ".suspend" }

sub peer_suspend_deadline {
   my ($self, $peer) = @_;
   my $t = _read_file ($self->path ($peer) . ".suspend");
   return (defined $t && $t =~ /^([\d.]+)/) ? $1 : undef;
}

sub suspend {
   my ($self, %p) = @_;
   croak "suspend is not supported by the " . $self->_driver_name . " driver" unless $self->suspend_supported;
   $self->pid_check;
   my $path = $self->path;
   unlink "$path.pid";
   my $at = $p{expires_at};
   $at = Time::HiRes::time () + $p{expires_in} if !defined $at && defined $p{expires_in};
   _write_atomic ("$path.suspend", $at) if defined $at;
   $self->{disconnected} = 1;
   $self->write_stats;
   return;
}

sub _driver_name { (my $n = ref ($_[0]) || $_[0]) =~ s/.*:://; $n }

sub peer_left {
   my ($self, $peer) = @_;
   my $path = $self->path ($peer);
   my $pid = _file_pid ("$path.pid");
   return unless $pid && !IPC::Manager::Util::pid_is_running ($pid);
   $self->_remove_artefacts ($path);
   return;
}

########################################################################
# statistics

sub write_stats {
   my $self = shift;
   my $path = $self->path;
   return unless -d $self->{route};
   eval { _write_atomic ("$path.stats", $self->{serializer}->serialize ($self->{stats})); 1 };
   return;
}

sub read_stats {
   my ($self, $id) = @_;
   my $data = _read_file ($self->path (defined $id ? $id : $self->{id}) . ".stats");
   return undef unless defined $data && length $data;
   return $self->{serializer}->deserialize ($data);
}

sub all_stats {
   my $self = shift;
   my %out;
   opendir my $dh, $self->{route} or return \%out;
   for my $e (readdir $dh) {
      next unless $e =~ /^(.+)\.stats\z/;
      my $name = $1;
      my $real = _read_file ("$self->{route}/$name.name");
      $name = $real if defined $real && length $real;
      my $data = _read_file ("$self->{route}/$e");
      next unless defined $data && length $data;
      $out{$name} = eval { $self->{serializer}->deserialize ($data) } || {};
   }
   return \%out;
}

########################################################################
# messages

sub _build_message {
   my $self = shift;
   my %f;
   if (blessed ($_[0]) || ref $_[0] eq 'HASH') {
      my $m = shift;
      %f = (%$m, @_);
   }
   elsif (@_ == 2) {
      %f = (to => $_[0], content => $_[1]);
   }
   else {
      %f = @_;
   }
   return IPC::Manager::Message->new (%f, from => $self->{id});
}

sub send_message {
   my $self = shift;
   $self->pid_check;
   my $msg = $self->_build_message (@_);
   my $to = $msg->{to};
   $self->_send_message ($msg);
   $self->{stats}{sent}{$to}++;
   return $msg;
}

# a message goes out in three steps, which the protocols provide:
#   $target = $self->_target ($to)    what the delivery needs (a socket, a
#                                     connection, a folder); croaks when
#                                     the protocol knows the peer is not there
#   (encoding; on failure $self->_encode_failed ($to, $@), which croaks)
#   $self->_deliver ($to, $target, $id, $bytes)
sub _send_message {
   my ($self, $msg) = @_;
   my $to = $msg->{to};
   my $target = $self->_target ($to);
   my $data;
   eval { $data = $self->_encode ($msg); 1 } or $self->_encode_failed ($to, $@);
   $self->_deliver ($to, $target, $msg->{id}, $data);
   return;
}

sub _encode_failed { die $_[2] }

# send_message ($to, $content) for requests and responses (content
# defined), returning nothing: with the default serializer the JSON text
# is put together directly (_quick_text), without a message object. With
# $request_id, $content is a request's, or with $response true the value
# answering request $request_id: the content sent is
# {ipcm_request_id => $request_id, request => $content} or
# {ipcm_response_id => $request_id, response => $content}
# (_quick_content).
sub _send_quick {
   my ($self, $to, $content, $rid, $resp) = @_;
   croak "Client used from wrong PID" unless $self->{pid} == IPC::Manager::Core::pid ();
   my $target = $self->_target ($to);
   my ($id, $data);
   if (my $json = $self->{_json}) {
      $data = '';
      $id = $self->_quick_text ($data, 0, $json, $to, $content, $rid, $resp);
   }
   else {
      $content = _quick_content ($content, $rid, $resp) if defined $rid;
      my $msg = bless IPC::Manager::Message::_fields ($self->{id}, $to, $content), 'IPC::Manager::Message';
      $id = $msg->{id};
      eval { $data = $self->_encode ($msg); 1 } or $self->_encode_failed ($to, $@);
   }
   $self->_deliver ($to, $target, $id, $data);
   $self->{stats}{sent}{$to}++;
   return;
}

# appends the JSON text of a new message from this client to $to
# (IPC::Manager::Core::msg_put: as a frame when $framed) to $_[1] and
# returns its id: the fields are those of IPC::Manager::Message::_fields;
# the content is written in C when it is simple data, else by the coder
# $json, which also writes the recipient (kept per recipient); the text
# differs from the coder's encoding of the message only in the order of
# the keys, which is not significant, and in the stamp's digits (always six
# after the point). With $rid, $content is a request's or ($resp) a
# response's (see _send_quick).
sub _quick_text {
   my ($self, undef, $framed, $json, $to, $content, $rid, $resp) = @_;
   my $tj = $self->{_to_json}{$to} ||= $json->encode ($to);
   my $id = IPC::Manager::Core::msg_put ($_[1], $framed, $self->{_from_json}, $tj, $content, _quick_mode ($rid, $resp), $rid);
   return $id if defined $id;
   $content = _quick_content ($content, $rid, $resp) if defined $rid;
   my $text;
   eval { $text = $json->encode ($content); 1 } or $self->_encode_failed ($to, $@);
   return IPC::Manager::Core::msg_put ($_[1], $framed, $self->{_from_json}, $tj, $text);
}

# (for _send_quick) msg_put's way of writing the content: as it is (1),
# as a request's (2) or as a response's (3); and the content as a hash
sub _quick_mode { defined $_[0] ? ($_[1] ? 3 : 2) : 1 }

sub _quick_content {
   my ($content, $rid, $resp) = @_;
   return $resp ? IPC::Manager::Role::Service::Requests::_response_content ($rid, $content)
                : IPC::Manager::Role::Service::Requests::_request_content ($rid, $content);
}

sub _encode {
   my ($self, $msg) = @_;
   return $self->{_json} ? $self->{_json}->encode ($msg) : $self->{serializer}->serialize ($msg);
}

sub try_message {
   my $self = shift;
   my @args = @_;
   my $ok = eval { $self->send_message (@args); 1 } ? 1 : 0;
   return ($ok, $ok ? undef : $@) if wantarray;
   return $ok;
}

sub broadcast {
   my $self = shift;
   my %f = @_ == 1 ? (content => $_[0]) : @_;
   my %out;
   for my $peer ($self->peers) {
      my $ok = eval { $self->send_message (%f, to => $peer, broadcast => 1); 1 };
      $out{$peer} = $ok ? { sent => 1 } : { sent => 0, error => $@ };
   }
   return \%out;
}

# a received text as a message; dies on what is not one. With the default
# serializer the usual messages (simple JSON, every field there) are
# decoded by the C core, already blessed, exactly as the coder and
# IPC::Manager::Message::_received make them; the coder decodes the others
# (and reports their errors)
sub _decode {
   my ($self, $raw) = @_;
   my $json = $self->{_json}
      or return IPC::Manager::Message::_received ($self->{serializer}->deserialize ($raw));
   my ($m) = IPC::Manager::Core::msg_decode ($raw);
   return $m || IPC::Manager::Message::_received ($json->decode ($raw));
}

sub get_messages {
   my $self = shift;
   croak "Client used from wrong PID" unless $self->{pid} == IPC::Manager::Core::pid ();
   my @msgs = $self->_read_messages;
   if ($self->{_inbox} || $self->{_resume}) {
      unshift @msgs, @{ delete $self->{_inbox} } if $self->{_inbox};
      push @msgs, $self->_read_resume if $self->{_resume};
   }
   $self->{stats}{read}{ $_->{from} }++ for @msgs;
   return @msgs > 1 ? IPC::Manager::Message::sort_messages (@msgs) : @msgs;
}

sub requeue_message {
   my ($self, @msgs) = @_;
   my $file = $self->path . ".resume";
   open my $fh, ">>", $file or die "Could not open '$file': $!";
   binmode $fh;
   for my $m (@msgs) {
      my $data = $self->_encode ($m);
      print $fh pack ("N/a*", $data);
      $self->{stats}{read}{ $m->{from} }-- if defined $m->{from};
   }
   close $fh or die "Could not write '$file': $!";
   $self->{_resume} = 1;
   return;
}

# only this client (or its previous incarnation, before a reconnect)
# writes its resume file
sub _read_resume {
   my $self = shift;
   return () unless $self->{_resume};
   delete $self->{_resume};
   my $file = $self->path . ".resume";
   my $data = _read_file ($file);
   unlink $file;
   my @out;
   while (defined $data && length ($data) >= 4) {
      my $len = unpack "N", $data;
      last if length ($data) < 4 + $len;
      my $raw = substr $data, 4, $len;
      substr ($data, 0, 4 + $len) = "";
      my $m = eval { $self->_decode ($raw) };
      push @out, $m if $m;
   }
   return @out;
}

sub pending_messages { 0 }
sub ready_messages   { 0 }
# messages taken in (while a blocking send waited) that get_messages did
# not return yet
sub _buffered        { $_[0]->{_inbox} && @{ $_[0]->{_inbox} } ? 1 : 0 }

sub disconnect {
   my ($self, $handler) = @_;
   $self->pid_check;
   return if $self->{disconnected};
   $self->_pre_disconnect;
   my $waiting = 0;
   my $tries = 0;
   while (1) {
      my $ready = $self->ready_messages || $self->{_resume};
      my $pending = $self->pending_messages;
      last unless $ready || $pending;
      if (!$ready) {
         last if ++$tries > 100;
         tinysleep (0.05);
         next;
      }
      my @msgs = grep !$_->is_terminate, $self->get_messages;
      next unless @msgs;
      if ($handler) {
         $self->$handler (\@msgs);
      }
      else {
         $self->{stats}{read}{ $_->{from} }-- for @msgs;
         $waiting += @msgs;
      }
   }
   $self->{disconnected} = 1;
   $self->_post_disconnect;
   $self->write_stats;
   croak "Messages waiting at disconnect for $self->{id}" if $waiting;
   return;
}

sub DESTROY {
   my $self = shift;
   return unless $self->{_registered} && $self->{pid} && $self->{pid} == $$;
   return if $self->{disconnected};
   local ($@, $!, $?);
   eval { $self->disconnect; 1 } or warn $@;
   return;
}

########################################################################
# outbox and select integration (defaults: blocking, nothing pending)

sub set_send_blocking { $_[0]->{send_blocking} = $_[1] ? 1 : 0 }
sub send_blocking     { $_[0]->{send_blocking} }
sub try_send_message  { my $self = shift; $self->try_message (@_) }
sub drain_pending     { 0 }
sub have_pending_sends { 0 }
sub pending_sends     { () }
sub pending_sends_to  { () }
sub have_writable_handles { 0 }
sub writable_handles  { () }
sub can_send_to       { defined $_[0]->peer_exists ($_[1]) ? 1 : 0 }

sub have_handles_for_select         { 0 }
sub handles_for_select              { () }
sub have_dynamic_handles_for_select { 0 }

# the select(2) bits of handles_for_select ('' without any)
sub _select_bits {
   my $self = shift;
   my $rin = '';
   vec ($rin, fileno $_, 1) = 1 for $self->handles_for_select;
   return $rin;
}

sub _open_peer_change {
   my $self = shift;
   return if $self->{_peer_change};
   $self->{_peer_change} = IPC::Manager::Core::watch ($self->{route}, 1)
      if IPC::Manager::Core::have_inotify ();
   return;
}

sub have_handles_for_peer_change { $_[0]->{_peer_change} ? 1 : 0 }
sub handles_for_peer_change      { $_[0]->{_peer_change} ? ($_[0]->{_peer_change}) : () }
sub reset_handles_for_peer_change {
   IPC::Manager::Core::watch_drain ($_[0]->{_peer_change}) if $_[0]->{_peer_change};
   return;
}

require IPC::Manager::Core;

1;
__END__

=head1 NAME

IPC::Manager::Client - a participant of a bus (base class of the protocols)

=head1 SYNOPSIS

   my $c = ipcm_connect (worker7 => $info);
   $c->send_message (boss => { status => 'idle' });
   for my $msg ($c->get_messages) { ... }
   print join (", ", $c->peers), "\n";
   $c->disconnect;

=head1 DESCRIPTION

A client owns an entry in the bus directory (what it is depends on the
protocol), a pidfile C<NAME.pid> written atomically, and, after it left,
C<NAME.stats>. Ids that do not fit in a socket path are mapped to a hashed
on-disk name (C<NAME.name> holds the real one). A client belongs to the
process that created it: used from another one it croaks C<Client used
from wrong PID>, and only the creator disconnects it on destruction.

=head1 METHODS

=over

=item PROTOCOL->connect ($id, $serializer, $route, %params), PROTOCOL->reconnect (...)

Registers: a stale entry of a dead process is cleared; a live one croaks
C<ID TYPE already exists>. C<reconnect> resumes a suspended client.

=item $msg = $c->send_message ($peer, $content), send_message (%fields), send_message ($msg, %overrides)

Croaks when the peer is unknown or the transport fails (texts per
protocol). Inside a service the client does not block: what cannot be
sent now is queued and sent by the loop.

=item ($ok, $err) = $c->try_message (...), $ok = $c->try_message (...)

=item $report = $c->broadcast ($content)

To every peer but itself, C<< {peer => {sent => 1} or {sent => 0, error => ...}} >>.

=item @msgs = $c->get_messages

Everything available now, sorted by stamp. Undecodable input is warned
about and skipped.

=item @names = $c->peers, peer_exists ($name), peer_pid ($name), peer_active ($name [, $timeout]), pid_is_running ($pid)

Peers whose process is gone (exited, even if not yet reaped) are not
listed.

=item $c->disconnect ([$handler])

Leaves the bus. Messages still waiting go to C<< $c->$handler (\@msgs) >>,
or make it croak C<Messages waiting at disconnect for ID> (after leaving).

=item suspend (expires_at => $t | expires_in => $s), suspend_supported, requeue_message (@msgs)

=item write_stats, read_stats, all_stats, stats

=item set_send_blocking, send_blocking, drain_pending, have_pending_sends, pending_sends, pending_sends_to, have_writable_handles, writable_handles, can_send_to

=item have_handles_for_select, handles_for_select, have_dynamic_handles_for_select, handles_for_peer_change, reset_handles_for_peer_change, pending_messages, ready_messages

=item local_clients ($route), viable, peer_left ($name), id, pid, route, disconnected, serializer

=back

=cut
