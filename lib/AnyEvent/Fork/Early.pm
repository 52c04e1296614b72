package AnyEvent::Fork::Early;

=head1 NAME

AnyEvent::Fork::Early - avoid having to exec another perl interpreter

=head1 SYNOPSIS

   #!/usr/bin/perl
   use AnyEvent::Fork::Early; # as early as possible in the main program

   # now load the rest, then create processes as usual
   use AnyEvent::Fork;
   my $proc = AnyEvent::Fork->new;   # forked from the early template

=head1 DESCRIPTION

At C<use> time this module forks the main program into a template process,
before other modules (event loops, GUIs, database drivers) have been
loaded and initialised, and makes it both C<$AnyEvent::Fork::TEMPLATE> and
C<$AnyEvent::Fork::EARLY>: C<new> and C<new_exec> then fork from it instead
of executing perl. It preloads C<strict>, C<warnings>, C<feature>, C<Carp>,
L<AnyEvent::Fork> (with L<AnyEvent> and L<AnyEvent::Util>), the
distribution's C core and, when installed, C<common::sense>, so that every
process shares them.

Does nothing on Windows.

=head1 CONCEPTS

=head2 Why early

Executing a new perl costs its start-up time for every C<new_exec> and
for the default template. Forking the program itself is much cheaper,
but only while the program is still small and clean: nothing opened,
no event loop, no threads. A C<use> at the top of the main program runs
before the rest of the program is even compiled, which is that moment.

=head2 What the template is

A copy of your program, stopped at the C<use> line, serving commands. It
has what was compiled before that line (usually nothing of yours) and
the modules listed above. It is a child of your program: its C<pid> is
known. Processes made from it (with C<new> or C<new_exec>) are forks of
it: children of the template, with an undefined C<pid>.

=head1 EXAMPLES

=head2 new_exec without an exec

   #!/usr/bin/perl
   use AnyEvent::Fork::Early;   # first thing: the template is this bare program

   use strict;
   use warnings;
   use POSIX ();                # loaded after the fork: not in the template
   use AnyEvent;
   use AnyEvent::Fork;

   # new_exec forks the early template instead of executing perl
   my $proc = AnyEvent::Fork->new_exec;
   print "pid of the new process: ",
      (defined $proc->pid ? $proc->pid : "undef (a fork of the early template)"), "\n";

   $proc->eval ('print "child: POSIX is ", ($INC{"POSIX.pm"} ? "loaded" : "not loaded"), "\n"; exit 0')
        ->to_fh (my $cv = AE::cv);
   my $w = AE::io $cv->recv, 0, my $gone = AE::cv;
   $gone->recv;

=head1 VARIABLES

=over

=item $AnyEvent::Fork::EARLY

=item $AnyEvent::Fork::TEMPLATE

Both set to the early template's object. Undef C<$EARLY> to make
C<new_exec> execute perl again; set C<$TEMPLATE> to another object to
make C<new> fork that.

=back

=head2 Error messages

C<AnyEvent::Fork::Early/Template: unable to fork template process: $!>
when the fork fails (the C<use> dies).

=head1 TYPICAL PROBLEMS

=over

=item C<END> blocks and destructors

The template and every process forked from it are copies of your program.
When they exit, perl runs the C<END> blocks your program had compiled
before the C<use> line, and the destructors of objects that existed then.
Put the C<use> first, so that there are none, or end processes with
C<POSIX::_exit>.

=item Not early enough

Anything loaded before the C<use> (through C<-M> options or C<PERL5OPT>
too) is in the template and in every process: keep it first.

=item Inherited template objects

Code in a child that wants to make processes of its own should
C<undef $AnyEvent::Fork::EARLY> and C<undef $AnyEvent::Fork::TEMPLATE>
first: those objects belong to the parent.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

It preloads this distribution's C core instead of L<IO::FDPass>. A process
forked from the early template does not keep a copy of the template's own
socket (the original's did, so the parent did not see end-of-file when the
template exited while such a process lived).

=head1 SEE ALSO

L<AnyEvent::Fork>, L<AnyEvent::Fork::Template>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers, after AnyEvent::Fork::Early by Marc
Lehmann, whose interface this reimplements.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (the file LICENSE has the full text).

=cut

use AnyEvent::Fork ();

unless ($^O eq "MSWin32") {
   require strict;
   require warnings;
   require "feature.pm" if $] >= 5.010;
   require Carp;
   require AnyEvent::Fork::Core;
   eval { require common::sense };

   $AnyEvent::Fork::TEMPLATE =
   $AnyEvent::Fork::EARLY    = AnyEvent::Fork->_new_fork ("AnyEvent::Fork::Early");
}

1
