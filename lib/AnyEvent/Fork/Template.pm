package AnyEvent::Fork::Template;

=head1 NAME

AnyEvent::Fork::Template - generate a template process from the main program

=head1 SYNOPSIS

   use My::Server; # load what the workers need
   use AnyEvent::Fork::Template;

   $AnyEvent::Fork::Template->fork->run ("My::Server::run", sub { ... });

=head1 DESCRIPTION

At C<use> time this module forks the main program, as it is at that point,
into a template process and stores the object in
C<$AnyEvent::Fork::Template> (note the case: this is not
C<$AnyEvent::Fork::TEMPLATE>). Everything loaded before is shared by the
processes forked from it. They run the main program's C<END> blocks and
destructors when they exit. Dies
C<AnyEvent::Fork::Template does not work on WIN32 due to bugs in perl> on
Windows.

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

die "AnyEvent::Fork::Template does not work on WIN32 due to bugs in perl\n"
   if $^O eq "MSWin32";

$AnyEvent::Fork::Template = AnyEvent::Fork->_new_fork ("AnyEvent::Fork::Template");

1
