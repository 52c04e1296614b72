# AnyEvent::Fork::Remote's failures: everything that goes wrong before the
# handshake reaches run's callback as undef, from the event loop; no run
# leaves the parent spinning; the processes started are reaped; no
# descriptors left for a socket pair: the error text.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;

use Test::More;

use AnyEvent;
use AnyEvent::Fork::Remote;
use AEFRemote;
use AEFHelp;

remote_env ();

my @warn;
$SIG{__WARN__} = sub { push @warn, $_[0] };

my $f = 'sub f { syswrite STDOUT, "f" }';
my @cases = (
   ["missing program (new_exec)", AnyEvent::Fork::Remote->new_exec ("/nonexistent/perl", "perl")],
   ["missing program (new_execp)", AnyEvent::Fork::Remote->new_execp ("aef-no-such-program", "x")],
   ["not executable (new_execp with a path)", AnyEvent::Fork::Remote->new_execp ("/dev/null", "x")],
   ["true", AnyEvent::Fork::Remote->new_exec ("/bin/true", "true")],
   ["syntax error", AnyEvent::Fork::Remote->new_exec ($^X, "perl")->eval ('sub f {')],
   ["die in eval code", AnyEvent::Fork::Remote->new_exec ($^X, "perl")->eval ('die "boom\n"')->eval ($f)],
   ["exit in eval code", AnyEvent::Fork::Remote->new_exec ($^X, "perl")->eval ("exit 0")],
   ["missing module", AnyEvent::Fork::Remote->new_exec ($^X, "perl")->require ("No::Such::Module")->eval ($f)],
   ["remote shell reads stdin", AnyEvent::Fork::Remote->new_exec ("/bin/sh", "sh", "-c", 'read x; exec "$0"', $^X)->eval ($f)],
   ["__END__ in eval code", AnyEvent::Fork::Remote->new_exec ($^X, "perl")->eval ("1;\n__END__\n")->eval ($f)],
);

my ($stderr) = with_stderr_pipe (sub {
   for (@cases) {
      my ($name, $proc) = @$_;
      my ($fh, $async) = run_remote ($proc, "f");
      ok !defined $fh && $async, "$name: undef, from the event loop";
   }
});
my $text = drain ($stderr);
like $text, qr/Missing right curly or square bracket at 'sub f \{' line \d+/, "a syntax error names the eval code";
like $text, qr/boom\n/, "die's message reaches stderr";
like $text, qr/BEGIN failed--compilation aborted at 'die ''boom\\n''' line \d+\./, "naming the eval code in the summary form";
like $text, qr/Can't locate No\/Such\/Module\.pm/, "a missing module is named";
like $text, qr/^AnyEvent::Fork::Remote: the start of the program was lost\n/m, "a program that lost its first line says so";

# PATH search of new_execp
{
   local $ENV{PATH} = "/nonexistent:" . join ":", map { (my $d = $_) =~ s{/[^/]+\z}{}; $d } $^X;
   (my $base = $^X) =~ s{.*/}{};
   my ($fh) = run_remote (AnyEvent::Fork::Remote->new_execp ($base, "perl")->eval ($f), "f");
   is ref $fh && drain ($fh), "f", "new_execp finds the program on PATH";
}

# the parent does not spin while a run waits (the child never answers) or
# after runs failed
{
   my $p = AnyEvent::Fork::Remote->new_exec ("/bin/sh", "sh", "-c", "exec sleep 30");
   my $called = 0;
   $p->run ("f", sub { ++$called });
   run_remote ($cases[0][1], "f") for 1 .. 3;
   my $cpu0 = (times)[0] + (times)[1];
   run_for 1.5;
   my $cpu = (times)[0] + (times)[1] - $cpu0;
   cmp_ok $cpu, "<", 0.2, "the parent is idle while a run waits (${cpu}s CPU in 1.5s)";
   is $called, 0, "the waiting run has not called back";
}

# every process started is reaped
{
   my $p = AnyEvent::Fork::Remote->new_exec ($^X, "perl")->eval ($f);
   my @pids;
   for (1 .. 25) {
      my ($fh) = run_remote ($p, "f");
      drain ($fh);
   }
   my $zombies = sub { grep { (proc_state ($_) || "") eq "Z" } children_of ($$) };
   wait_until { $zombies->() <= 1 };
   cmp_ok scalar $zombies->(), "<=", 1, "25 runs leave at most one zombie";
}

# no descriptor left for the socket pair
{
   my @fh;
   while (open my $fh, "<", "/dev/null") { push @fh, $fh; last if @fh > 100_000 }
   eval { AnyEvent::Fork::Remote->new_exec ($^X, "perl")->run ("f", sub { }) };
   my $err = $@;
   @fh = ();
   like $err, qr/^AnyEvent::Fork::Remote: socketpair: Too many open files at /, "socketpair failure: run dies with \$!";
}

is "@warn", "", "no warnings";

done_testing;
