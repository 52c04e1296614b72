# AnyEvent::Fork::Pool::ncpu: this machine, and the /proc/cpuinfo logic on
# prepared files (through the internal function that takes the file name).
use strict;
use warnings;
use Test::More;
use File::Temp ();

use AnyEvent::Fork::Pool;

sub cpuinfo {
   my $fh = File::Temp->new;
   print $fh @_;
   close $fh;
   $fh
}

SKIP: {
   skip "not linux", 6 unless $^O eq "linux";
   open my $fh, "<", "/proc/cpuinfo" or skip "no /proc/cpuinfo", 6;

   my (%id, $n);
   /^core id\s*:\s*(\d+)/ and ++$n and $id{$1} = 1 while <$fh>;

   my $cpus = AnyEvent::Fork::Pool::ncpu;
   is $cpus, scalar keys %id, "scalar context: distinct core ids ($cpus)";
   is_deeply [AnyEvent::Fork::Pool::ncpu], [scalar keys %id, $n], "list context: (cpus, execution units)";
   is scalar AnyEvent::Fork::Pool::ncpu (99), scalar keys %id, "the default is not used when the file is readable";
   is_deeply [AnyEvent::Fork::Pool::ncpu (99)], [scalar keys %id, $n], "... in list context either";
   my @ncpu = AnyEvent::Fork::Pool::ncpu;
   ok @ncpu == 2, "two values in list context";
   ok $cpus >= 1 || !$n, "a positive count where core ids exist";
}

my $two_cores_ht = cpuinfo map "processor\t: $_\ncore id\t\t: " . ($_ % 2) . "\nflags\t\t: fpu\n\n", 0 .. 3;
is_deeply [AnyEvent::Fork::Pool::_ncpu_cpuinfo ("$two_cores_ht")], [2, 4], "2 cores, 4 threads";

my $spacing = cpuinfo "core id:7\n", "core id   :   7\n", "core id : 12\n", " core id : 3\n", "core id : x\n", "core ids : 4\n";
is_deeply [AnyEvent::Fork::Pool::_ncpu_cpuinfo ("$spacing")], [2, 3], "the core id pattern (anchored, digits)";

my $none = cpuinfo "processor\t: 0\nmodel name\t: something\n";
my @none = AnyEvent::Fork::Pool::_ncpu_cpuinfo ("$none");
is scalar @none, 2, "no core id lines: two values";
is $none[0], 0, "... cpus 0";
is $none[1], undef, "... execution units undef";
@none = AnyEvent::Fork::Pool::_ncpu_cpuinfo ("$none", 5);
is $none[0], 0, "... the default does not apply";

my $missing = "/nonexistent/cpuinfo";
is_deeply [AnyEvent::Fork::Pool::_ncpu_cpuinfo ($missing)], [1, 1], "unreadable file: 1 and 1";
is_deeply [AnyEvent::Fork::Pool::_ncpu_cpuinfo ($missing, 6)], [6, 6], "unreadable file with default 6: 6 and 6";
is_deeply [AnyEvent::Fork::Pool::_ncpu_cpuinfo ($missing, 0)], [0, 0], "... default 0 is returned as given";
is_deeply [AnyEvent::Fork::Pool::_ncpu_cpuinfo ($missing, undef)], [undef, undef], "... an undefined default too";

done_testing;
