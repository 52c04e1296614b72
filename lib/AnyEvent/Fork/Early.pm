package AnyEvent::Fork::Early;

=head1 NAME

AnyEvent::Fork::Early - avoid having to exec another perl interpreter

=head1 SYNOPSIS

   #!/usr/bin/perl
   use AnyEvent::Fork::Early; # as early as possible in the main program

   # now load the rest, then create processes as usual

=head1 DESCRIPTION

At C<use> time this module forks the main program into a template process,
before other modules (event loops, GUIs) have been initialised, and makes
it both C<$AnyEvent::Fork::TEMPLATE> and C<$AnyEvent::Fork::EARLY>: C<new>
and C<new_exec> then fork from it instead of executing perl. It preloads
C<strict>, C<warnings>, C<feature>, C<Carp>, the distribution's C core and,
when installed, C<common::sense>, so that every process shares them.

Processes forked from it run the main program's C<END> blocks and
destructors when they exit (use C<POSIX::_exit> to avoid that). Does
nothing on Windows.

=head1 AUTHOR

The interfaces are Marc Lehmann's (E<lt>schmorp@schmorp.deE<gt>), from his
AnyEvent::Fork, AnyEvent::Fork::RPC and AnyEvent::Fork::Pool distributions;
this implementation is by the AnyEvent::Fork::Core maintainers. Report bugs
to E<lt>bug-AnyEvent-Fork-Core@rt.cpan.orgE<gt>.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (see the file LICENSE).

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
