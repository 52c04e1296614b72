package AnyEvent::Task::Companion;

=head1 NAME

AnyEvent::Task::Companion - Callback::Frame and Log::Defer for systems that lack them

=head1 SYNOPSIS

   use AnyEvent::Task::Companion;   # done by every AnyEvent::Task module
   use Callback::Frame;              # the installed one, or ours
   use Log::Defer;                   # likewise

=head1 DESCRIPTION

AnyEvent::Task needs two small companions that Debian does not package:
Callback::Frame (error handlers that follow callbacks) and Log::Defer
(structured logs collected over a request). This distribution carries a
compatible copy of each, under private file names, and never installs a
file named F<Callback/Frame.pm> or F<Log/Defer.pm>.

Loading this module appends one hook to the B<end> of C<@INC>. When perl
looks for F<Callback/Frame.pm> or F<Log/Defer.pm> and no directory of
C<@INC> has it, the hook serves our copy. An installed copy, found earlier
in C<@INC>, therefore always wins, and exactly one package of each name is
ever loaded in a process.

=cut

use strict;
use warnings;

our $VERSION = '0.805';

use File::Spec ();

my $dir = File::Spec->rel2abs (__FILE__);
$dir =~ s/\.pm\z//;

our %FILES = (
   "Callback/Frame.pm" => "$dir/CallbackFrame.pm",
   "Log/Defer.pm"      => "$dir/LogDefer.pm",
);

our $HOOK;
$HOOK ||= sub {
   my (undef, $file) = @_;
   my $path = $FILES{$file} or return;
   open my $fh, "<", $path or return;
   $INC{$file} = $path;
   $fh
};

push @INC, $HOOK unless grep { ref $_ && $_ == $HOOK } @INC;

1
