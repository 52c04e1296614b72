package AnyEvent::Fork::Serve;

# Every executed perl compiles this file (some 2000 instructions a token),
# so it holds only what a process needs from its start; the rest is
# compiled when needed. The documentation is after __END__ (not read).
#
# No "use strict" or "use warnings" here: code sent with ->eval is compiled
# in this file's lexical scope and must start with perl's defaults.

our $OWNER; # pid of the original main program

# The argument list of this process's Serve loop (there is one loop per
# process). It is the only lexical the evaluated code can see: _eval is
# compiled here, before any other lexical exists.
my @arg;

sub _eval {
   @arg if 0; # capture @arg in this sub, so that the string eval sees it
   package main;
   eval shift; # @_ is now the eval arguments
   $@
}

# The loop's rare cases (errors, and an "f" that does not follow an "h"),
# compiled in the loop's scope by a string eval when one occurs; $! is
# still that of the failed call then. Its value: the error, or undef to go on.
my $rare = <<'RARE';
   if ($cmd eq "f") {
      my $pid = fork;

      if ($pid eq 0) {
         $0 = "$OWNER AnyEvent::Fork";
         $master = pop @arg;
         undef
      } else {
         pop @arg;
         defined $pid ? undef : "AnyEvent::Fork::Serve: fork() failed: $!"
      }
   } elsif ($cmd eq "h") {
      $buf < 0
         ? "AnyEvent::Fork::Serve: fd_recv() failed: $!"
         : "AnyEvent::Fork::Serve: open (fd_recv) failed: $!"
   } elsif ($cmd eq "F") {
      "AnyEvent::Fork::Serve: fork() failed: $!"
   } elsif ($cmd eq "!") {
      "AnyEvent::Fork::Serve received an oversized request - stream corrupted?"
   } else {
      "AnyEvent::Fork::Serve received unknown request '$cmd' - stream corrupted?"
   }
RARE

# run_args while the loop runs (a named sub: when the run function takes
# over in a child, restoring the glob frees nothing)
sub _run_args () { my @ret = @arg; @ret }

# The C core is loaded only when the first descriptor arrives (as the
# original loads IO::FDPass), so until then commands are read here. Returns
# what AnyEvent::Fork::Core::serve_next does: an empty list at end-of-file,
# "!" for an oversized command.
sub _read {
   my ($fh) = @_;
   my ($hdr, $buf) = ("", "");

   1 while 0 < waitpid -1, 1;

   sysread $fh, $hdr, 5 - length $hdr, length $hdr or return
      while 5 > length $hdr;
   my ($cmd, $len) = unpack "a L", $hdr;

   return "!" if $len > 256 * 1024 * 1024; # AEF_SERVE_MAX

   sysread $fh, $buf, $len - length $buf, length $buf or return
      while $len > length $buf;

   return ($cmd, $buf) if $cmd ne "h";

   require AnyEvent::Fork::Core;
   AnyEvent::Fork::Core::serve_next ($fh, 1)
}

sub serve {
   local $^W = 0;

   my $master = shift;
   my ($error, $cmd, $buf);

   local *run_args = \&_run_args;

   # new_exec added LD_BIND_NOW for an executed perl's own start-up only
   # (and warnings are off here, should the variable not exist)
   delete $ENV{LD_BIND_NOW}
      if $ENV{LD_BIND_NOW} eq "AnyEvent::Fork::Serve";

   while () {
      # serve_next reaps exited children, reads the next command, and
      # forks itself for an "h"+"f" pair (what ->fork sends)
      ($cmd, $buf) = defined &AnyEvent::Fork::Core::serve_next
         ? AnyEvent::Fork::Core::serve_next ($master)
         : _read ($master);

      last unless defined $cmd; # end-of-file or read error

      if ($cmd eq "e") {
         $error = _eval unpack "(w/a*)*", $buf
            and last;

      } elsif ($cmd eq "a") {
         push @arg, unpack "(w/a*)*", $buf;

      } elsif ($cmd eq "h" && $buf >= 0 && open my $fh, "+<&=", $buf) {
         push @arg, $fh;

      } elsif ($cmd eq "r") {
         @_ = ($master, @arg);
         @arg = ();
         undef $master;
         $0 = "$OWNER $buf";
         package main;
         goto &$buf;

      } else {
         $error = eval $rare;
         last if defined $error;
      }
   }

   warn "[$0] ERROR: $error\n"
      if length $error;

   shutdown $master, 1;
   exit;
}

sub me {
   open my $fh, "+<&=$ARGV[0]"
      or die "AnyEvent::Fork::Serve::me unable to open communication socket: $!\n";

   $OWNER = $ARGV[1];
   $0 = "$OWNER AnyEvent::Fork/exec";

   @ARGV = ();
   @_ = $fh;
   goto &serve;
}

1

__END__

=head1 NAME

AnyEvent::Fork::Serve - the command loop of every AnyEvent::Fork child

=head1 SYNOPSIS

   # in a fresh perl, as AnyEvent::Fork->new_exec starts it:
   perl -MAnyEvent::Fork::Serve -e AnyEvent::Fork::Serve::me FD OWNER

   # in code sent with ->eval:
   my @args  = AnyEvent::Fork::Serve::run_args ();
   my $owner = $AnyEvent::Fork::Serve::OWNER;

=head1 DESCRIPTION

Every process controlled by an L<AnyEvent::Fork> object runs this loop until
C<run> hands control to a user function. You never call it yourself;
this page describes what a child does with the commands the parent
queues, so that you know what your code in the child can rely on.

Loading this module has no side effects; it loads nothing else at first
(the distribution's C core only when the first descriptor arrives), so
templates stay small.

=head1 CONCEPTS

=head2 The command stream

The parent writes commands to the socket; each is a letter, a 32-bit
length in the machine's byte order, and that many bytes (strings inside
are length-prefixed lists). The loop reads one command at a time, never
reading past its end: the byte that follows an C<h> command carries a file
descriptor, and reading it as data would lose the descriptor. It acts on
each command in turn:

=over

=item C<e> (from C<eval> and C<require>)

Evaluates code in package C<main> with C<@_> set to the arguments. The
code sees the lexical C<@arg>: everything received so far with
C<send_arg> and C<send_fh>, in send order. Warnings are off unless the
code enables them.

=item C<a> (from C<send_arg>)

Appends strings to C<@arg>.

=item C<h> (from C<send_fh>)

Receives a descriptor and appends it to C<@arg> as a read/write handle
(close-on-exec, like every handle perl opens).

=item C<f> (from C<fork>)

Forks; the new process takes the last handle of C<@arg> (the socket the
parent sent for it) as its command socket, C<$0> becomes
C<"OWNER AnyEvent::Fork">, and both processes go on reading commands, each
from its own socket. The rest of C<@arg> is in both.

=item C<r> (from C<run>)

Calls the named function (in package C<main>) with the socket and C<@arg>,
by a tail call: the loop is gone, its settings (warnings off,
C<run_args>) are undone, and C<$0> becomes C<"OWNER FUNCNAME">.

=back

=head2 Reaping and exiting

Before reading each command the loop reaps every child that has exited
(without blocking), so a template's forks do not stay zombies longer than
until its next command. No signal handler is changed.

On end-of-file (the parent dropped its object), a read error, or an error
it reports, the loop half-closes the socket and exits with status 0;
errors are printed to STDERR as C<[$0] ERROR: message>.

=head1 EXAMPLES

=head2 What a child sees

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;
   use AnyEvent::Util ();

   my ($r, $w) = AnyEvent::Util::portable_pipe;

   AnyEvent::Fork
      ->new
      ->send_arg ("first", "second")
      ->send_fh ($w)
      ->eval (q{
           my ($greeting) = @_;              # this eval's own arguments
           my @args = AnyEvent::Fork::Serve::run_args ();
           syswrite $arg[2], "$greeting: $0, owner $AnyEvent::Fork::Serve::OWNER, "
                           . scalar (@args) . " arguments, $arg[0] $arg[1]\n";
           exit 0;
        }, "hello");
   undef $w;

   my $cv = AE::cv;
   my $rw = AE::io $r, 0, sub { sysread $r, my $buf, 4096 or return $cv->send; print $buf };
   $cv->recv;

=head2 A child that makes processes of its own

A child can use L<AnyEvent::Fork> itself (it finds it through the
C<PERL5LIB> it inherited). It must not use the template objects it may
have inherited from its parent.

   use strict;
   use warnings;
   use AnyEvent;
   use AnyEvent::Fork;

   AnyEvent::Fork
      ->new
      ->eval (q{
           use AnyEvent;
           use AnyEvent::Fork;            # found through the inherited PERL5LIB
           $| = 1;                        # our output before our end-of-file

           # objects inherited from the parent are not ours to use
           undef $AnyEvent::Fork::EARLY;
           undef $AnyEvent::Fork::TEMPLATE;

           AnyEvent::Fork->new->eval ('syswrite STDOUT, "grandchild $$ says hello\n"; exit 0')
              ->to_fh (my $cv = AE::cv);  # wait until the command is written
           my $fh = $cv->recv;
           my $w = AE::io $fh, 0, my $gone = AE::cv;
           $gone->recv;                   # end-of-file: the grandchild is gone
           print "child $$ is done\n";
           exit 0;
        })
      ->to_fh (my $sent = AE::cv);

   my $fh = $sent->recv;
   my $w = AE::io $fh, 0, my $gone = AE::cv;
   $gone->recv;

=head1 FUNCTIONS AND VARIABLES

=over

=item $AnyEvent::Fork::Serve::OWNER

The pid of the original main program, inherited by every child, template
and grandchild. It is the number in front of every child's C<$0>.

=item @args = AnyEvent::Fork::Serve::run_args ()

Only while the loop runs (for example in code sent with C<eval>): a copy of
the current argument list, strings and handles in send order. Despite what
the original documentation says it does not clear it: the run function
still receives everything. It does not exist in the run function.

=item AnyEvent::Fork::Serve::me

The entry point of an executed perl (see L</SYNOPSIS>): adopts descriptor
C<$ARGV[0]> as the command socket, sets C<$OWNER> from C<$ARGV[1]>, sets
C<$0> to C<"OWNER AnyEvent::Fork/exec">, empties C<@ARGV> and runs the
loop.

=item AnyEvent::Fork::Serve::serve ($fh)

The loop itself, on the socket C<$fh>; it does not return (it exits, or
it becomes the run function).

=back

=head2 Error messages

Printed as C<[$0] ERROR: message> on STDERR, after which the process exits
with status 0:

   AnyEvent::Fork::Serve: fd_recv() failed: $!
   AnyEvent::Fork::Serve: open (fd_recv) failed: $!
   AnyEvent::Fork::Serve: fork() failed: $!
   AnyEvent::Fork::Serve received unknown request 'X' - stream corrupted?
   AnyEvent::Fork::Serve received an oversized request - stream corrupted?
   the error of code sent with eval, verbatim ($@)

An executed perl that cannot adopt its socket dies with
C<AnyEvent::Fork::Serve::me unable to open communication socket: $!>. A
C<run> naming a function that does not exist dies with perl's own
C<Goto undefined subroutine &main::NAME>.

=head1 TYPICAL PROBLEMS

=over

=item Variables of the evaluated code

Each C<eval> is compiled on its own: a C<my> variable of one C<eval> is
not visible in the next. Use globals (C<our>, or fully qualified names) or
functions to keep state between them; C<@arg> is the only lexical shared
by all.

=item C<exit> in evaluated code

C<exit> ends the process at once, with whatever is left in the queue
unread, and runs C<END> blocks (in copies of your main program, yours).
Buffered output is flushed by C<exit>, but possibly after the parent has
seen end-of-file: use C<$| = 1> or C<syswrite> where order matters.

=item An error ends the process

A C<die> in evaluated code, or a module that fails to load, ends the
process, even a template. Catch errors in the code when the process must
survive them.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

=over

=item * Evaluated code sees only C<@arg> and C<@_>; the original also let
it see the loop's other private variables (the socket, the current
command, its error reporter).

=item * A command announcing more than 256 MiB is reported as
C<AnyEvent::Fork::Serve received an oversized request - stream corrupted?>
instead of being read (the parent never sends such a command for
anything but very large C<eval> or C<send_arg> data).

=item * An C<h> command directly followed by C<f> (what C<fork> sends) is
carried out by the C core: it receives the descriptor, forks, and in the
new process moves the socket onto the old command socket's descriptor,
without creating or freeing a Perl handle. Fewer pages are touched, so a
fork costs the template and the child fewer copy-on-write faults.

=item * An executed perl compiles only the parts of the loop that every
process needs; the code for errors and for an C<f> that does not follow
an C<h> (neither is ever sent by L<AnyEvent::Fork>) is compiled when one
occurs. A new perl so starts with less to compile than the original's.

=item * The C core replaces L<IO::FDPass>; like it, it is loaded only when
the first descriptor arrives. Received descriptors are close-on-exec from
the start, and surplus descriptors in a message are closed.

=back

=head1 SEE ALSO

L<AnyEvent::Fork>, L<AnyEvent::Fork::Early>, L<AnyEvent::Fork::Template>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers, after AnyEvent::Fork::Serve by Marc
Lehmann, whose interface and protocol this reimplements.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (the file LICENSE has the full text).

=cut
