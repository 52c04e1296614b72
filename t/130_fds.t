# Descriptor hygiene: what a child can see (only STDIN, STDOUT, STDERR, its
# command socket and what was sent to it), and what the parent and the
# template keep.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use AEFHelp;

# descriptors this process has before the early template is forked (the
# early process inherits them, like any fork would)
our @BEFORE_EARLY;
BEGIN {
   AEFHelp::cloexec_inherited ();
   @BEFORE_EARLY = AEFHelp::my_fds ();
}

use AnyEvent::Fork::Early;

use Test::More;
use AnyEvent;
use AnyEvent::Fork;

# the descriptors of the child, listed by its run function, and its socket
sub child_fds {
   my ($proc) = @_;
   my $out = report ($proc, q{
      opendir my $dh, "/proc/$$/fd" or die;
      my @fd = grep /^\d+\z/, readdir $dh;
      closedir $dh;
      join " ", fileno $aefh_fh, sort { $a <=> $b } grep defined readlink "/proc/$$/fd/$_", @fd
   });
   my ($sock, @fd) = split / /, $out;
   ($sock, \@fd)
}

my $early = $AnyEvent::Fork::EARLY;
undef $AnyEvent::Fork::EARLY;
undef $AnyEvent::Fork::TEMPLATE;

# descriptors of the test that must never show up in a child
pipe my $r0, my $w0 or die;
open my $file0, "<", $0 or die;

{
   my ($sock, $fds) = child_fds (AnyEvent::Fork->new_exec);
   is_deeply ($fds, [0, 1, 2, $sock], "new_exec child: only 0, 1, 2 and its socket");
}

{
   my ($sock, $fds) = child_fds (AnyEvent::Fork->new);
   is_deeply ($fds, [0, 1, 2, $sock], "new (fork of the template): only 0, 1, 2 and its socket");
}

{
   my $t = $AnyEvent::Fork::TEMPLATE;
   my $a = $t->fork; # not run yet: its socket lives in the template until forked
   my ($sock, $fds) = child_fds ($t->fork);
   is_deeply ($fds, [0, 1, 2, $sock], "a second fork does not see the first one's socket");
   child_fds ($a);
}

{
   pipe my $r, my $w or die;
   open my $f, "<", $0 or die;
   my $p = AnyEvent::Fork->new;
   $p->send_fh ($w, $f);
   my $out = report ($p, 'join " ", fileno $aefh_fh, map fileno $_, @_');
   my ($sock, @sent) = split / /, $out;
   ($sock, my $fds) = child_fds (do {
      my $q = AnyEvent::Fork->new; $q->send_fh ($w, $f); $q
   });
   my @want = sort { $a <=> $b } 0, 1, 2, $sock, @sent;
   is_deeply ($fds, \@want, "new with two handles sent: 0, 1, 2, its socket and exactly the two handles");
}

{
   my ($sock, $fds) = child_fds ($early->fork);
   my %want = map { $_ => 1 } @BEFORE_EARLY, $sock;
   is_deeply ($fds, [sort { $a <=> $b } keys %want],
              "fork of the early template: its socket and what the program had open when Early was used (@BEFORE_EARLY)");
}

{
   my ($sock, $fds) = child_fds ($early);
   my %want = map { $_ => 1 } @BEFORE_EARLY, $sock;
   is_deeply ($fds, [sort { $a <=> $b } keys %want], "the early process itself: the same");
}

# the parent keeps exactly one descriptor per live object
{
   my @before = my_fds;
   my $p = AnyEvent::Fork->new_exec;
   is_deeply ([my_fds], [sort { $a <=> $b } @before, fileno $p->[1]], "new_exec: the parent gains exactly the object's socket");
   my $q = $p->fork;
   flush_queue ($p);
   is_deeply ([my_fds], [sort { $a <=> $b } @before, fileno $p->[1], fileno $q->[1]], "fork: after the flush, the parent holds only the two sockets (the child end was released)");
   my $fd = fileno $q->[1];
   undef $q;
   undef $p;
   is_deeply ([my_fds], \@before, "dropping the objects closes their sockets");
}

{
   my @before = my_fds;
   {
      pipe my $r, my $w or die;
      my $p = AnyEvent::Fork->new;
      $p->send_fh ($w);
      undef $w;
      $p->eval ('syswrite $arg[0], "x"');
      flush_queue ($p);
      is_deeply ([my_fds], [sort { $a <=> $b } @before, fileno $r, fileno $p->[1]], "send_fh: once sent, the parent no longer holds the handle");
   }
   is_deeply ([my_fds], \@before, "... and nothing is left when the objects are gone");
}

# the template holds only 0, 1, 2 and its socket between commands
{
   my $t = AnyEvent::Fork->new_exec;
   my @c = map $t->fork, 1 .. 5;
   pipe my $r, my $w or die;
   report ($_, '1') for @c;
   my ($tsock) = report ($t->fork, '1') && ();
   # the template has processed every fork; ask it for its own view
   $t->send_fh ($w)->eval ('
      opendir my $dh, "/proc/$$/fd" or die;
      my @fd = grep /^\d+\z/, readdir $dh;
      closedir $dh;
      my $out = join " ", sort { $a <=> $b } grep defined readlink "/proc/$$/fd/$_", @fd;
      syswrite $arg[-1], $out;
      close pop @arg;
   ');
   undef $w;
   my @fd = split / /, drain ($r);
   my @tfd = proc_fds ($t->pid);
   is (scalar @fd, 5, "the template, after six forks, holds five descriptors while evaluating (0, 1, 2, socket, the sent pipe): @fd");
   is (scalar @tfd, 4, "... and four when idle (0, 1, 2, socket): @tfd");
}

done_testing;
