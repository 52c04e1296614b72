=head1 NAME

AnyEvent::Fork::RPC::Sync - synchronous backend of AnyEvent::Fork::RPC

=head1 SYNOPSIS

   # in the parent: the default backend
   my $rpc = AnyEvent::Fork->new->require ("MyWorker")
      ->AnyEvent::Fork::RPC::run ("MyWorker::run");

   # in the worker
   sub MyWorker::run {
      my (@args) = @_;                            # the request
      AnyEvent::Fork::RPC::event (working => 1);  # optional
      (@results)                                  # the response
   }

=head1 DESCRIPTION

The worker side of L<AnyEvent::Fork::RPC> without an event loop: the
function is called for one request after the other, in list context, and
what it returns is the response. The loop - reading, parsing, thawing,
calling, freezing, writing - runs in the distribution's C core, so a
synchronous worker needs nothing but this small module and the core,
which its template has loaded already. It does not load AnyEvent.

C<AnyEvent::Fork::RPC::run> loads it in the worker with
C<use AnyEvent::Fork::RPC::Sync 2 ()> (the RPC protocol version) and hands
the process to C<AnyEvent::Fork::RPC::Sync::run>.

=head1 CONCEPTS

=head2 What the worker does

=over

=item 1.

Takes the RPC handshake off the end of its arguments (the 2.0 key/value
form and the four values of RPC 1.2 - 1.24 are both understood).

=item 2.

If the socket it got is file descriptor 0 (as under
AnyEvent::Fork::Remote), it reads STDIN and writes STDOUT; else it reads
and writes the socket.

=item 3.

Changes its process name to C<OWNER FUNCTION> (C<$0>, keeping the owner's
pid in front).

=item 4.

Calls the C<init> function, if any, with the values sent before
C<AnyEvent::Fork::RPC::run>. C<AnyEvent::Fork::RPC::event> does not exist
yet (it is only declared).

=item 5.

Evaluates the serialiser (dies with C<$@> on failure) and serves requests
until the parent closes its side: then it answers the requests it has
received completely, flushes perl's STDOUT buffer (so that all it printed
is there before the parent sees the end of the connection), half-closes
the socket and exits with status 0. The C<done> option is ignored.

=back

Responses to requests that arrived together are written together while the
calls are fast (less than 50 microseconds each, the first waiting response
less than 250 microseconds old); before a slow call, before blocking for
more requests, with every event and when the function exits or dies,
everything queued is written. A function that dies ends the worker like
any uncaught exception. When the parent is gone, writing fails and the
worker dies with C<AnyEvent::Fork::RPC::Sync: write error ($!), parent
gone?>.

=head1 EXAMPLES

=head2 Blocking calls, events, and a handle for C<init>

   # a synchronous worker with a log handle given to init, blocking calls,
   # and one event per call
   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Fork::RPC;

   open my $log, ">&", \*STDERR or die "dup: $!";

   my $rpc = AnyEvent::Fork
      ->new
      ->eval (q{
           my $log;
           sub init { ($log) = @_; syswrite $log, "worker $$ ready\n" }
           sub slow_square {
              my ($n) = @_;
              select undef, undef, undef, 0.1;    # blocking is fine here
              AnyEvent::Fork::RPC::event (log => "squared $n");
              $n * $n
           }
        })
      ->send_fh ($log)                            # passed to init
      ->AnyEvent::Fork::RPC::run ("slow_square",
           init     => "init",
           on_event => sub { print "event: @_\n" },
        );
   undef $log;

   my $cv = AE::cv;
   for (1 .. 3) {
      $cv->begin;
      $rpc->($_, sub { print "result: @_\n"; $cv->end });
   }
   $cv->recv;

=head1 FUNCTIONS

=over

=item AnyEvent::Fork::RPC::event (@args)

Sends an event to the parent, at once (after the responses before it).

=item $ok = AnyEvent::Fork::RPC::flush ()

Returns 1: everything is written already.

=item AnyEvent::Fork::RPC::Sync::run ($socket, @args, %handshake, -N)

The backend's entry point, called by the worker's command loop. Not
called directly.

=item AnyEvent::Fork::RPC::Sync::do_exit ()

Exits (status 0).

=item $AnyEvent::Fork::RPC::Sync::VERSION

2: the RPC protocol version.

=back

=head1 TYPICAL PROBLEMS

=over

=item Long calls delay everything behind them

One call at a time: requests wait in the socket while the function runs.
Use several workers (L<AnyEvent::Fork::Pool>) for parallelism, or the
asynchronous backend when the function mostly waits.

=item Output of the worker

The worker's STDOUT is your program's. The worker flushes it before it
closes the connection, so it has all arrived when C<on_destroy> runs; but
between requests it is buffered as usual (set C<$| = 1> for interleaved
output).

=item A worker killed by a signal

Responses to fast calls are written in batches: a worker killed a moment
after such calls may not have written their responses (the parent reports
C<unexpected eof>). C<exit> and C<die> in the function write everything
first.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

The loop runs in C and batches the responses to fast back-to-back calls
(see above); the original wrote each one on its own, with a system call
per response. The worker flushes STDOUT before it closes the connection,
so the parent never sees the worker's output after C<on_destroy>.

=head1 SEE ALSO

L<AnyEvent::Fork::RPC>, L<AnyEvent::Fork::RPC::Async>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers, after AnyEvent::Fork::RPC::Sync by
Marc Lehmann, whose interface and protocol this reimplements.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (the file LICENSE has the full text).

=cut

package AnyEvent::Fork::RPC::Sync;

# Kept small on purpose: this runs in every synchronous worker and loads
# nothing but the distribution's C core (which the template has already).

# The C core when this perl can load it; else (a remote perl this
# distribution was not built for) the pure-Perl loops, same bytes on the wire.
our $CORE;
BEGIN {
   $CORE = eval { require AnyEvent::Fork::Core; 1 }
      or require AnyEvent::Fork::RPC::PurePerl;
}

our $VERSION = 2;

# declared here, defined once run has started (so init cannot send events)
sub AnyEvent::Fork::RPC::event;
sub AnyEvent::Fork::RPC::flush;

sub do_exit { exit }

# a function that exits: the responses still queued go out first
END { AnyEvent::Fork::RPC::Core::sync_exit () if $CORE }

# The prologue both backends share, called as &_prologue from their run:
# takes the handshake off @_ (leaving the user's arguments), rewrites $0,
# calls init and resolves the function. Returns the read handle, the write
# handle (STDIN/STDOUT when the socket is descriptor 0) and the handshake.
#
# (No regular expressions here: compiling one maps in much of perl's regex
# engine, hundreds of kB of resident memory in every worker.)
sub _prologue {
   my %kv;

   if ($_[-1] < 0) { # 2.0: key/value pairs and their negated count
      my $n = pop;
      %kv = splice @_, $n;
   } else {          # 1.2 - 1.24: four positional values
      @kv{qw(function init serialiser done)} = splice @_, -4;
   }

   my $fh = shift;
   my ($rfh, $wfh) = fileno $fh ? ($fh, $fh) : (\*STDIN, \*STDOUT);

   # "OWNER FUNCNAME", as the command loop left it, becomes "OWNER FUNCTION"
   my $sp = index $0, " ";
   $0 = substr ($0, 0, $sp) . " $kv{function}"
      if $sp > 0 && !(substr ($0, 0, $sp) =~ tr/0-9//c);

   {
      package main;
      &{ $kv{init} } if length $kv{init};
      $kv{function} = \&{ $kv{function} }; # a missing one dies when called
   }

   ($rfh, $wfh, \%kv)
}

# the socket, kept where the unwinding of an exit from inside the function
# does not close it before the END block has written to it
our @FH;

sub run {
   goto &AnyEvent::Fork::RPC::PurePerl::sync_run unless $CORE;

   my ($rfh, $wfh, $kv) = &_prologue;
   @FH = ($rfh, $wfh);

   my ($f, $t) = eval $kv->{serialiser}; die $@ if $@;

   *AnyEvent::Fork::RPC::event = \&AnyEvent::Fork::RPC::Core::sync_event;
   *AnyEvent::Fork::RPC::flush = sub { 1 };

   AnyEvent::Fork::RPC::Core::sync_serve (
      fileno $rfh, fileno $wfh, $kv->{rlen}, $kv->{function}, $kv->{serialiser}, $f, $t,
   );

   # the parent may be done once it sees end-of-file: our output first
   AnyEvent::Fork::RPC::Core::flush_stdout ();
   shutdown $wfh, 1;
   exit;
}

1
