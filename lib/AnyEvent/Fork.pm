=head1 NAME

AnyEvent::Fork - everything you wanted to use fork() for, but couldn't

=head1 SYNOPSIS

   use AnyEvent::Fork;

   AnyEvent::Fork
      ->new
      ->require ("MyModule")
      ->send_arg ("some string")
      ->run ("MyModule::server", my $cv = AE::cv);

   my $fh = $cv->recv; # the socket to the child, which now runs MyModule::server

=head1 DESCRIPTION

This is a drop-in replacement for Marc Lehmann's AnyEvent::Fork 1.32 that
needs neither L<IO::FDPass> nor L<Proc::FastSpawn>: descriptor passing,
spawning and the command codec live in the distribution's own C core
(L<AnyEvent::Fork::Core>). Programs written for the original run unchanged,
and the bytes on the socket are identical, so a parent of either kind can
drive a child of the other.

A process is created either by executing a fresh perl (C<new_exec>), or,
much faster, by forking an existing template process (C<new>, C<fork>).
Commands sent to a process (C<eval>, C<require>, C<send_arg>, C<send_fh>,
C<fork>, C<run>) are only queued; an AnyEvent write watcher writes the queue
while the event loop runs. C<run> finally hands the socket to a function in
the child and gives the parent's end to a callback.

The child side (the command loop) is L<AnyEvent::Fork::Serve>. Templates
made at program start are L<AnyEvent::Fork::Early> and
L<AnyEvent::Fork::Template>.

The object is a blessed array reference: element C<[1]> is the parent's end
of the socket (non-blocking, close-on-exec); callers may wait on it for
end-of-file. There is no C<DESTROY>: the write watcher keeps the object
alive until the queue is written; dropping the last reference afterwards
closes the socket, and the child exits once it has processed everything.

No child watcher is ever installed; use C<< $proc->pid >> for your own.

=head1 PACKAGE VARIABLES

=over

=item $AnyEvent::Fork::PERL

The perl that C<new_exec> runs: C<$^X> when it is an absolute path ending in
C<perl> (optionally with a version and C<.exe>), else C<$Config{perlpath}>.
Computed on first use unless already set.

=item $AnyEvent::Fork::TEMPLATE

The default template, created by the first C<new> (or by
L<AnyEvent::Fork::Early>).

=item $AnyEvent::Fork::EARLY

Set by L<AnyEvent::Fork::Early>; while true, C<new_exec> forks it instead of
executing perl.

=item $AnyEvent::Fork::Template

Set by L<AnyEvent::Fork::Template> (note the case: not C<$TEMPLATE>).

=back

=head1 METHODS

=over

=cut

package AnyEvent::Fork;

use strict;
no warnings;

use AnyEvent ();
use AnyEvent::Util ();
use AnyEvent::Fork::Core ();
use Errno ();

our $VERSION = '1.32';

our $PERL;     # the perl to use for new_exec
our $TEMPLATE; # the default template
our $EARLY;    # the early template, see AnyEvent::Fork::Early
our $Template; # the template made by AnyEvent::Fork::Template

sub QUEUE () { 0 }
sub FH    () { 1 }
sub WW    () { 2 }
sub PID   () { 3 }
sub CB    () { 4 }

# (parent end, child end) of a new socketpair as Perl handles, both
# close-on-exec; the parent end is made non-blocking by _new
sub _socketpair {
   my ($fd0, $fd1) = AnyEvent::Fork::Core::socketpair
      or return;
   open my $fh0, "+<&=", $fd0 or die "AnyEvent::Fork: fdopen: $!";
   open my $fh1, "+<&=", $fd1 or die "AnyEvent::Fork: fdopen: $!";
   ($fh0, $fh1)
}

sub _new {
   my ($class, $fh, $pid) = @_;

   AnyEvent::Fork::Core::set_nonblock ($fh, 1);

   bless [[], $fh, undef, $pid], $class
}

# write as much of the queue as the socket takes; once it is empty, drop the
# watcher and hand the socket to the callback, if there is one
sub _flush {
   my ($self) = @_;
   my $queue = $self->[QUEUE];

   while (@$queue) {
      if (ref $queue->[0]) {
         my $fd = fileno ${ $queue->[0] }; # undef once the caller closed it
         unless (defined $fd && AnyEvent::Fork::Core::fd_send $self->[FH], $fd) {
            $! = Errno::EBADF unless defined $fd;
            return if $! == Errno::EAGAIN || $! == Errno::EWOULDBLOCK;
            undef $self->[WW];
            die "AnyEvent::Fork: file descriptor send failure: $!";
         }
         shift @$queue;
      } else {
         my $len = syswrite $self->[FH], $queue->[0];

         unless ($len) {
            return if !defined $len && ($! == Errno::EAGAIN || $! == Errno::EWOULDBLOCK);
            undef $self->[WW];
            die "AnyEvent::Fork: command write failure: $!";
         }

         if ($len < length $queue->[0]) {
            substr $queue->[0], 0, $len, "";
         } else {
            shift @$queue;
         }
      }
   }

   undef $self->[WW];

   if ($self->[CB]) {
      $self->[CB]->($self->[FH]);
      @$self = ();
   }
}

sub _cmd {
   my $self = shift;

   if (0xffffffff < length $_[1]) {
      require Carp;
      Carp::croak ("AnyEvent::Fork: command too long (" . (length $_[1]) . " octets, at most 4294967295)");
   }

   # consecutive commands are merged into one string, written in one go
   my $queue = $self->[QUEUE];
   if (@$queue && !ref $queue->[-1]) {
      $queue->[-1] .= pack "a L/a*", $_[0], $_[1];
   } else {
      push @$queue, pack "a L/a*", $_[0], $_[1];
   }

   $self->[WW] ||= AE::io $self->[FH], 1, sub { _flush $self };

   ()
}

# a template forked from the current process (Early and Template)
sub _new_fork {
   my ($class, $name) = @_;

   my ($fh, $slave) = _socketpair
      or die "AnyEvent::Fork::Early/Template: unable to fork template process: $!";
   my $owner = $$;
   my $pid = fork;

   if ($pid eq 0) {
      require AnyEvent::Fork::Serve;
      $AnyEvent::Fork::Serve::OWNER = $owner;
      close $fh;
      $0 = "$owner AnyEvent::Fork/exec";
      AnyEvent::Fork::Serve::serve ($slave);
      exit 0;
   }

   defined $pid
      or die "AnyEvent::Fork::Early/Template: unable to fork template process: $!";

   $class->_new ($fh, $pid)
}

=item $proc = AnyEvent::Fork->new

A new process, forked from the default template C<$AnyEvent::Fork::TEMPLATE>
(which is created with C<new_exec> on first use). Its C<pid> is undef: it
is a child of the template, not of the caller.

=cut

sub new {
   my $class = shift;

   $TEMPLATE ||= $class->new_exec;
   $TEMPLATE->fork
}

=item $new_proc = $proc->fork

Queues the creation of a copy of C<$proc>'s process (with the arguments and
handles queued so far) and returns an object for it. Commands queued on
C<$proc> afterwards still go to C<$proc>.

=cut

sub fork {
   my ($self) = @_;

   my ($fh, $slave) = _socketpair
      or die "AnyEvent::Fork: socketpair: $!";

   $self->send_fh ($slave);
   $self->_cmd ("f");

   ref ($self)->_new ($fh)
}

=item $proc = AnyEvent::Fork->new_exec

A new process made by executing C<$AnyEvent::Fork::PERL> with
C<-MAnyEvent::Fork::Serve>; the child's C<PERL5LIB> is the parent's C<@INC>,
so it finds the same modules. When C<$AnyEvent::Fork::EARLY> is set, it is
forked from that instead. Dies C<unable to spawn AnyEvent::Fork server: $!>
when perl cannot be started.

=cut

sub _perl {
   return $PERL if defined $PERL;

   if ($^X =~ /[\/\\]perl(?:[0-9]+(\.[0-9]+)+)?(\.exe)?$/i
       and $^O eq "MSWin32" || $^X =~ m{^/})
   {
      $PERL = $^X;
   } else {
      require Config;
      $PERL = $Config::Config{perlpath};
      $PERL .= $Config::Config{_exe}
         unless $PERL =~ /\Q$Config::Config{_exe}\E$/i;
   }

   $PERL
}

sub new_exec {
   my ($self) = @_;

   return $EARLY->fork
      if $EARLY;

   my $perl = _perl;

   my ($fh, $slave) = _socketpair
      or die "unable to spawn AnyEvent::Fork server: $!";

   local $ENV{PERL5LIB} = join $^O eq "MSWin32" ? ";" : ":", grep !ref, @INC;

   my $pid = AnyEvent::Fork::Core::spawn (
      $perl,
      [$perl, "-MAnyEvent::Fork::Serve", "-e", "AnyEvent::Fork::Serve::me", fileno $slave, $$],
      [map "$_=$ENV{$_}", keys %ENV],
      $slave,
   );

   die "unable to spawn AnyEvent::Fork server: $!"
      if $pid < 0;

   $self->_new ($fh, $pid)
}

=item $pid = $proc->pid

The process id for objects made by C<new_exec> (without Early),
L<AnyEvent::Fork::Early> and L<AnyEvent::Fork::Template>; undef for all
others.

=cut

sub pid {
   $_[0][PID]
}

=item $proc = $proc->eval ($perlcode, @args)

Queues C<$perlcode> for a string eval in package C<main> of the child, with
C<@_> set to C<@args>. The code also sees C<@arg>, the strings and handles
sent so far. An error is printed as C<[$0] ERROR: $@> and ends the child.

=cut

sub eval {
   my ($self, $code, @args) = @_;

   $self->_cmd (e => pack "(w/a*)*", $code, @args);

   $self
}

=item $proc = $proc->require ($module, ...)

Queues C<require> of the named modules in the child.

=cut

sub require {
   my ($self, @modules) = @_;

   s%::%/%g for @modules;
   $self->eval ('require "$_.pm" for @_', @modules);

   $self
}

=item $proc = $proc->send_fh ($handle, ...)

Queues the passing of each handle to the child, where it is appended to the
argument list as a read/write handle. The queue keeps a reference to each
handle until it is sent, so the caller may drop its own at once (but must
not close it). Croaks C<AnyEvent::Fork: file descriptor send failure: Bad
file descriptor> when given something that is not an open handle.

=cut

sub send_fh {
   my ($self, @fh) = @_;

   for my $fh (@fh) {
      unless (defined eval { fileno $fh }) {
         require Carp;
         local $! = Errno::EBADF;
         Carp::croak ("AnyEvent::Fork: file descriptor send failure: $!");
      }

      $self->_cmd ("h");
      push @{ $self->[QUEUE] }, \$fh;
   }

   $self
}

=item $proc = $proc->send_arg ($string, ...)

Queues octet strings that are appended to the child's argument list.

=cut

sub send_arg {
   my ($self, @arg) = @_;

   $self->_cmd (a => pack "(w/a*)*", @arg);

   $self
}

=item $proc->run ($func, $cb->($fh))

Queues the hand-over to C<$func> (resolved in package C<main>), called in
the child with the socket followed by the argument list. Once everything
is written, C<$cb> receives the parent's end of the socket and the object
is emptied. Without C<$cb> the object stays as it is. Returns nothing.

=cut

sub run {
   my ($self, $func, $cb) = @_;

   $self->[CB] = $cb;
   $self->_cmd (r => $func);
}

=item $proc->to_fh ($cb->($fh))

Experimental. Gives the socket to C<$cb> once the queue is written (at once
when nothing is queued) and empties the object. The child keeps accepting
commands on it, see C<new_from_fh>. Its return value means nothing.

=cut

sub to_fh {
   my ($self, $cb) = @_;

   $self->[CB] = $cb;

   unless ($self->[WW]) {
      $cb->($self->[FH]);
      @$self = ();
   }
}

=item $proc = AnyEvent::Fork->new_from_fh ($fh)

Experimental. An object for a socket obtained with C<to_fh> (possibly in
another process, passed with C<send_fh>).

=cut

sub new_from_fh {
   my ($class, $fh) = @_;

   $class->_new ($fh)
}

=back

=head1 ERRORS

Inside the write watcher (so under EV they are printed as C<EV: error in
callback (ignoring): ...>): C<AnyEvent::Fork: command write failure: $!> and
C<AnyEvent::Fork: file descriptor send failure: $!>. From C<new_exec>:
C<unable to spawn AnyEvent::Fork server: $!>. The child's own texts are
listed in L<AnyEvent::Fork::Serve>.

=head1 SEE ALSO

L<AnyEvent::Fork::RPC>, L<AnyEvent::Fork::Pool>, L<AnyEvent::Fork::Serve>.

=head1 AUTHOR

The interfaces are Marc Lehmann's (E<lt>schmorp@schmorp.deE<gt>), from his
AnyEvent::Fork, AnyEvent::Fork::RPC and AnyEvent::Fork::Pool distributions;
this implementation is by the AnyEvent::Fork::Core maintainers. Report bugs
to E<lt>bug-AnyEvent-Fork-Core@rt.cpan.orgE<gt>.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (see the file LICENSE).

=cut

1
