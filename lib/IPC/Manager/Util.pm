package IPC::Manager::Util;

use strict;
use warnings;

use Carp qw(croak);
use Errno ();
use POSIX ();
use Time::HiRes ();

use Exporter ();
our @ISA       = qw(Exporter);
our @EXPORT_OK = qw(pid_is_running tinysleep require_mod clone_io USE_INOTIFY USE_IO_SELECT uuid);

our $VERSION = '0.000038';

BEGIN {
   my $select = eval { require IO::Select; 1 } ? 1 : 0;
   *USE_IO_SELECT = sub () { $select };
}

# the core watches routes without Linux::Inotify2: it is loaded (to find
# out whether it can be) only when somebody asks
my $INOTIFY;
sub USE_INOTIFY () {
   if (!defined $INOTIFY) {
      local $@;
      $INOTIFY = (!$ENV{IPC_MANAGER_NO_INOTIFY}
                  && eval { require Linux::Inotify2; Linux::Inotify2->VERSION (2.3); 1 }) ? 1 : 0;
   }
   return $INOTIFY;
}

sub pid_is_running {
   my ($pid) = @_;
   croak "A pid is required" unless $pid;
   local $!;
   if (kill 0, $pid) {
      # a zombie is told from the kernel's process table, without reaping
      # it (on systems without /proc a zombie still counts as running)
      require IPC::Manager::Core;
      return IPC::Manager::Core::pid_alive ($pid) ? 1 : 0;
   }
   return 0 if $!{ESRCH};
   return -1;
}

sub tinysleep {
   my ($secs) = @_;
   Time::HiRes::sleep ($secs) if $secs && $secs > 0;
   return;
}

sub require_mod {
   my ($mod) = @_;
   (my $file = "$mod.pm") =~ s{::}{/}g;
   require $file;
   return $mod;
}

sub clone_io {
   my ($mode, $fh) = @_;
   open my $dup, $mode, $fh or die "Could not clone filehandle: $!";
   return $dup;
}

sub uuid {
   require IPC::Manager::Core;
   return IPC::Manager::Core::uuid ();
}

# (not exported) whether $obj (an object or a class name) still has
# $from's own versions of @methods, none overridden: the loops and the
# start-up take their shortcuts only then
sub _keeps {
   my ($obj, $from, @methods) = @_;
   for (@methods) {
      my $c = $obj->can ($_) or return 0;
      return 0 unless $c == ($from->can ($_) || 0);
   }
   return 1;
}

1;
__END__

=head1 NAME

IPC::Manager::Util - small helpers shared by the IPC::Manager modules

=head1 SYNOPSIS

   use IPC::Manager::Util qw(pid_is_running tinysleep require_mod);

   print "alive\n" if pid_is_running ($pid) > 0;
   tinysleep (0.05);
   require_mod ("IPC::Manager::Client::UnixSocket");

=head1 FUNCTIONS

Nothing is exported by default.

=over

=item $state = pid_is_running ($pid)

1 when signal 0 reaches the process, 0 when there is no such process,
-1 when it exists but belongs to somebody else (C<EPERM>). Croaks
C<A pid is required> without a pid. A process that has exited but was not
yet reaped by its parent (a zombie) counts as gone: it will never answer
again. The zombie is not reaped.

=item tinysleep ($seconds)

Fractional sleep.

=item require_mod ($module)

Loads a module by name and returns the name.

=item $fh = clone_io ($mode, $fh)

A duplicate of a file handle, e.g. C<< clone_io ('>&', \*STDERR) >>.

=item USE_INOTIFY, USE_IO_SELECT

Whether Linux::Inotify2 (2.3 or newer) and IO::Select can be used; the
answer does not change. Setting C<IPC_MANAGER_NO_INOTIFY> in the
environment (before the first C<USE_INOTIFY>) makes it false; the services
then use their polling fallback whatever it says. Linux::Inotify2 is loaded
by the first C<USE_INOTIFY>, not by loading this module: the services
watch routes through the core.

=item $uuid = uuid ()

A random version 4 UUID from the kernel's random bytes.

=back

=cut
