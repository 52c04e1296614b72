package AnyEvent::Fork::Serve;

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

# The C core is loaded only when the first descriptor arrives (as the
# original loads IO::FDPass): a template that is never forked and an exec'd
# child that only evaluates code stay as small as a bare perl.
# Until then, commands are read by this small Perl reader, which returns
# what AnyEvent::Fork::Core::serve_next would (an empty list at end-of-file,
# "!" for an oversized command), except that it returns ("h", "") without
# receiving the descriptor.
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

   ($cmd, $buf)
}

# ->run ("CORE::exit") is common: make perl build that stub once, here,
# instead of in every child (where it would cost copy-on-write faults)
() = \&CORE::exit;

=head1 NAME

AnyEvent::Fork::Serve - the command loop of every AnyEvent::Fork child

=head1 SYNOPSIS

   # in a fresh perl, as AnyEvent::Fork->new_exec starts it:
   perl -MAnyEvent::Fork::Serve -e AnyEvent::Fork::Serve::me FD OWNER

   # in code sent with ->eval:
   my @args = AnyEvent::Fork::Serve::run_args ();

=head1 DESCRIPTION

Every process controlled by an L<AnyEvent::Fork> object runs this loop until
C<run> hands control to a user function. It reads one command at a time
from the socket, never reading past the end of a command (the byte after
an C<h> command carries a descriptor), and acts on it:

=over

=item C<e> - evaluates code in package C<main> with C<@_> set to the
arguments. The code sees the lexical C<@arg>: everything received so far
with C<send_arg> and C<send_fh>, in send order. Warnings are off unless the
code enables them.

=item C<a> - appends strings to C<@arg>.

=item C<h> - receives a descriptor and appends it to C<@arg> as a
read/write handle.

=item C<f> - forks; the new process takes the last handle of C<@arg> as its
command socket (C<$0> becomes C<"OWNER AnyEvent::Fork">).

=item C<r> - calls the named function (in package C<main>) with the socket
and C<@arg> by a tail call; C<$0> becomes C<"OWNER FUNCNAME">.

=back

The loop reaps exited children before reading each command. On end-of-file
or an error it half-closes the socket and exits with status 0; errors are
printed to STDERR as C<[$0] ERROR: message>.

Loading this module has no side effects; it loads only the distribution's
C core, so templates stay small.

=head1 FUNCTIONS

=over

=item $OWNER

The pid of the original main program, inherited by every child.

=item @args = AnyEvent::Fork::Serve::run_args ()

Only while the loop runs (for example in code sent with C<eval>): a copy of
the current argument list. Despite what the original documentation says it
does not clear it: the run function still receives everything.

=item AnyEvent::Fork::Serve::me

The entry point of an executed perl: adopts descriptor C<$ARGV[0]>, sets
C<$OWNER> from C<$ARGV[1]> and runs the loop on it.

=item AnyEvent::Fork::Serve::serve ($fh)

The loop itself; it does not return.

=back

=head1 AUTHOR

The interfaces are Marc Lehmann's (E<lt>schmorp@schmorp.deE<gt>), from his
AnyEvent::Fork, AnyEvent::Fork::RPC and AnyEvent::Fork::Pool distributions;
this implementation is by the AnyEvent::Fork::Core maintainers. Report bugs
to E<lt>bug-AnyEvent-Fork-Core@rt.cpan.orgE<gt>.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (see the file LICENSE).

=cut

sub serve {
   local $^W = 0;

   my $master = shift;
   my ($error, $cmd, $buf);

   local *run_args = sub () { my @ret = @arg; @ret };

   while () {
      # serve_next reaps exited children, then reads the next command;
      # it forks itself for an "h"+"f" pair (what ->fork sends), so that
      # neither process creates or frees a Perl handle; "F" reports a
      # failed fork
      if (defined &AnyEvent::Fork::Core::serve_next) {
         ($cmd, $buf) = AnyEvent::Fork::Core::serve_next ($master);
      } else {
         ($cmd, $buf) = _read ($master);
         if ($cmd eq "h") { # the first descriptor: now the core is needed
            require AnyEvent::Fork::Core;
            ($cmd, $buf) = AnyEvent::Fork::Core::serve_next ($master, 1);
         }
      }

      last unless defined $cmd; # end-of-file or read error

      if ($cmd eq "!") {
         $error = "AnyEvent::Fork::Serve received an oversized request - stream corrupted?";
         last;
      }

      if ($cmd eq "F") {
         $error = "AnyEvent::Fork::Serve: fork() failed: $!";
         last;
      } elsif ($cmd eq "h") {
         my $fd = $buf;
         if ($fd < 0) {
            $error = "AnyEvent::Fork::Serve: fd_recv() failed: $!";
            last;
         }
         open my $fh, "+<&=", $fd
            or ($error = "AnyEvent::Fork::Serve: open (fd_recv) failed: $!"), last;
         push @arg, $fh;

      } elsif ($cmd eq "a") {
         push @arg, unpack "(w/a*)*", $buf;

      } elsif ($cmd eq "f") { # an "f" that does not follow an "h" directly
         my $pid = fork;

         if ($pid eq 0) {
            $0 = "$OWNER AnyEvent::Fork";
            $master = pop @arg;
         } else {
            pop @arg;
            defined $pid
               or ($error = "AnyEvent::Fork::Serve: fork() failed: $!"), last;
         }

      } elsif ($cmd eq "e") {
         $error = _eval unpack "(w/a*)*", $buf
            and last;

      } elsif ($cmd eq "r") {
         @_ = ($master, @arg);
         @arg = ();
         undef $master;
         $0 = "$OWNER $buf";
         package main;
         goto &$buf;

      } else {
         $error = "AnyEvent::Fork::Serve received unknown request '$cmd' - stream corrupted?";
         last;
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

   # the core is loaded lazily, but found through a relative directory it
   # must be loaded now: evaluated code may change directory before the
   # first descriptor arrives
   for (@INC) {
      next if ref || !-f "$_/AnyEvent/Fork/Core.pm";
      require AnyEvent::Fork::Core unless m{^/};
      last;
   }

   $OWNER = $ARGV[1];
   $0 = "$OWNER AnyEvent::Fork/exec";

   @ARGV = ();
   @_ = $fh;
   goto &serve;
}

1
