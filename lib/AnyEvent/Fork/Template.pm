package AnyEvent::Fork::Template;

=head1 NAME

AnyEvent::Fork::Template - generate a template process from the main program

=head1 SYNOPSIS

   use My::Server; # load what the workers need
   use AnyEvent::Fork::Template;

   # every process forked from the template has My::Server loaded
   $AnyEvent::Fork::Template->fork->run ("My::Server::run", sub { ... });

=head1 DESCRIPTION

At C<use> time this module forks the main program, as it is at that point,
into a template process and stores the object in
C<$AnyEvent::Fork::Template> (note the case: this is not
C<$AnyEvent::Fork::TEMPLATE>, which C<new> uses). Everything loaded and
compiled before the C<use> line is shared by the processes forked from
it.

Dies C<AnyEvent::Fork::Template does not work on WIN32 due to bugs in
perl> on Windows.

=head1 CONCEPTS

=head2 Capturing the program at compile time

C<use> runs while perl compiles your program, so the template is a copy
of the program as far as it has been compiled: the modules loaded before
the C<use> line, the subroutines defined above it, and variables set in
C<BEGIN> blocks. Subroutines defined below the line, and anything your
program does at run time, are not in the template. The template is a child
of your program (its C<pid> is known); processes forked from it are its
children.

Compared with L<AnyEvent::Fork::Early>, which forks the bare program, this
module forks it once it has loaded what the workers need; compared with a
C<new_exec> template that C<require>s the modules, it saves a perl
start-up, and the template shares the modules' memory with your program.

=head1 EXAMPLES

=head2 Workers that share the program's modules and functions

   use strict;
   use warnings;

   use Digest::MD5 ();          # loaded before: shared by every process
   use POSIX ();
   our %CONFIG;
   BEGIN { %CONFIG = (salt => "pepper") } # set at compile time: the template has it

   sub digest {                  # compiled before the template: it has it
      my ($fh, $text) = @_;
      syswrite $fh, Digest::MD5::md5_hex ("$CONFIG{salt}$text");
      POSIX::_exit (0);          # skip END blocks and destructors of this program
   }

   END { print "END block in $$\n" } # the template has it, too

   use AnyEvent::Fork::Template; # the program is forked here, at compile time

   use AnyEvent;
   use AnyEvent::Fork;

   my $all = AE::cv;
   for my $text (qw(one two)) {
      $all->begin;
      $AnyEvent::Fork::Template
         ->fork
         ->send_arg ($text)
         ->run ("digest", sub {
              my ($fh) = @_;
              my $buf = "";
              my $w; $w = AE::io $fh, 0, sub {
                 sysread $fh, $buf, 64, length $buf and return;
                 undef $w;
                 print "$text: $buf\n";
                 $all->end;
              };
           });
   }
   $all->recv;

The C<END> block runs twice: in the program and in the template (which
exits when the program drops its object at the end); the workers skip it
with C<POSIX::_exit>.

=head1 VARIABLES

=over

=item $AnyEvent::Fork::Template

The template's L<AnyEvent::Fork> object. Fork it (C<fork>) for workers,
or send it more code (C<eval>) first. Dropping it lets the template exit.

=back

=head2 Error messages

C<AnyEvent::Fork::Early/Template: unable to fork template process: $!>
when the fork fails (the C<use> dies).

=head1 TYPICAL PROBLEMS

=over

=item C<END> blocks and destructors

The template and every process forked from it are copies of your program:
perl runs your C<END> blocks and the destructors of objects that existed
at the C<use> line when they exit. End worker functions with
C<POSIX::_exit>, or check C<$$> in C<END> blocks.

=item Threads, event loops, open connections

Load and create those after the C<use> line: a copy of an event loop
or a database connection in the template and its forks is shared with your
program, and using it in both confuses both.

=item Functions missing in the children

C<Goto undefined subroutine &main::NAME>: the function was compiled after
the C<use> line. Move the C<use> below it, or send the code with C<eval>.

=back

=head1 DIFFERENCES FROM THE ORIGINAL

A process forked from the template does not keep a copy of the template's
own socket, so the parent sees end-of-file when the template exits while
such a process lives.

=head1 SEE ALSO

L<AnyEvent::Fork>, L<AnyEvent::Fork::Early>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers, after AnyEvent::Fork::Template by Marc
Lehmann, whose interface this reimplements.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself (the file LICENSE has the full text).

=cut

use AnyEvent::Fork ();

die "AnyEvent::Fork::Template does not work on WIN32 due to bugs in perl\n"
   if $^O eq "MSWin32";

$AnyEvent::Fork::Template = AnyEvent::Fork->_new_fork ("AnyEvent::Fork::Template");

1
