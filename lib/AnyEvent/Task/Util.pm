package AnyEvent::Task::Util;

use strict;
use warnings;

our $VERSION = '0.805';

use AnyEvent ();
use AnyEvent::Util ();
use POSIX ();
use AnyEvent::Fork::Core ();
use AnyEvent::Task::Companion ();

our @children_sockets;

sub fork_anyevent_subprocess {
   my ($code, %opt) = @_;

   die "No AnyEvent watchers should be created prior to forking (AE model: $AnyEvent::MODEL)"
      if $AnyEvent::MODEL;

   my ($mine, $theirs) = AnyEvent::Util::portable_socketpair
      or die "couldn't create socketpair: $!";

   my $pid = fork;
   die "couldn't fork: $!" unless defined $pid;

   if (!$pid) {
      close $mine;
      AnyEvent::Task::Util::_release_all_but ($theirs, @{ $opt{dont_close_fds} || [] });

      my $ok = eval {
         my $w = AE::io $theirs, 0, sub { exit 0 };
         $code->();
         1
      };
      print STDERR $ok ? "AnyEvent::Task::Server->run should never return\n" : $@;
      POSIX::_exit (1);
   }

   close $theirs;
   return ($mine, $pid) if wantarray;
   push @children_sockets, $mine;
   return;
}

1

__END__

=head1 NAME

AnyEvent::Task::Util - run code in a forked process kept alive by a socket

=head1 SYNOPSIS

   use AnyEvent::Task::Util;

   my ($fh, $pid) = AnyEvent::Task::Util::fork_anyevent_subprocess (sub {
      # runs in the child: set up watchers, then run the loop
      AE::cv->recv;
   });
   close $fh;   # the child exits

=head1 DESCRIPTION

The primitive behind L<AnyEvent::Task::Server/fork_task_server>.

=over

=item fork_anyevent_subprocess ($code, dont_close_fds => [$fd, ...])

Must be called before the process has created any AnyEvent watcher (it
dies with C<No AnyEvent watchers should be created prior to forking (AE
model: MODEL)> otherwise). Creates a socket pair, forks (C<couldn't fork:
ERRNO> on failure) and in the child:

=over

=item * gives up every inherited descriptor except 0, 1, 2, its end of the
pair and those in C<dont_close_fds>, so the caller's sockets, pipes and
files are not held open by the child. The descriptors are not closed under
perl's feet: the null device takes each number, so perl handles the child
inherited stay valid (they just refer to F</dev/null> now);

=item * exits with status 0 as soon as its end of the pair becomes readable:
the caller closed the other end, exited, or wrote to it;

=item * runs C<$code>, which normally never returns. If it returns, the
child prints C<AnyEvent::Task::Server-E<gt>run should never return>; if it
dies, the child prints the error; either way it then leaves with
C<POSIX::_exit(1)>. It never comes back into the caller's code.

=back

In list context the parent gets C<($fh, $pid)>, C<$fh> being its end of the
pair. Otherwise C<$fh> is pushed onto C<@AnyEvent::Task::Util::children_sockets>,
where it stays for the life of the process, and nothing is returned.

=item @AnyEvent::Task::Util::children_sockets

The keep-alive handles of children forked in scalar or void context.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

The original closed inherited descriptors by number, behind perl's back,
which could leave client connections open in the server and its workers;
here they are replaced by the null device. The original let an exception
of C<$code> (or its return) continue into the caller's code in the child;
here the child reports it and exits non-zero.

=cut
