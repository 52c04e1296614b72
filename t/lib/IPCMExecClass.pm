package IPCMExecClass;

# A service class for the exec boot tests (t/402): run records its
# caller() chain in the file named by the 'out' parameter, leaves a
# labelled loop through nested subs, and returns to the runner's caller.

use strict;
use warnings;
use Role::Tiny::With;

sub new { my ($class, %p) = @_; bless {%p}, $class }
for my $f (qw(name orig_io ipcm_info pid watch_pids)) { no strict 'refs'; *$f = sub { $_[0]{$f} } }
sub set_pid { $_[0]{pid} = $_[1] }
sub handle_request { "never" }
sub run_returns_to_caller { 1 }

sub _deep { no warnings 'exiting'; last OUTER }

sub run {
   my $self = shift;
   my @subs;
   for (my $i = 0; my @c = caller ($i); $i++) { push @subs, $c[3] }
   my $left = 0;
   OUTER: for (1) { _deep (); $left = -1 }
   $left = 1 unless $left;
   open my $fh, ">", $self->{out} or die "$self->{out}: $!";
   print $fh join ("\n", "left=$left", @subs), "\n";
   close $fh;
   return 0;
}

with 'IPC::Manager::Role::Service';

1;
