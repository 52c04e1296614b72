package AEFClosure;

=head1 NAME

AEFClosure - fresh closures that report what they see of themselves (t/2xx, t/3xx)

=head1 SYNOPSIS

   use lib "t/lib";
   use AEFClosure;

   my @log;
   my $cb = closure ("AEFClosure::Other", "tag", \@log, \my $weak);
   $rpc->(1, $cb); undef $cb;          # nothing but the queue holds it now
   detached ($weak);                   # true while it waits, if it was detached
   # ... once called: $log[0] = ["tag", probe, @results], then ["destroy", "tag"]

   my $direct = direct ("AEFClosure::Other", 1); # the same probe, called at once

=head1 DESCRIPTION

C<closure ($package, $tag, \@log, \$weak)> returns a new anonymous closure
compiled in C<$package> (C<main>, C<AEFClosure::Other>, whose base class is
C<AEFClosure::Base>, or C<DB>). Called, it pushes C<[$tag, $probe, @_]> to
C<@log>; when it is freed, an object it captured pushes
C<["destroy", $tag]>. C<$weak> gets a weak reference to it (counting
nothing). The probe is one string: the name C<caller> reports for the
closure, C<Sub::Util::subname>, the package perl files it under (B's
C<STASH>), what C<< __PACKAGE__->SUPER::who >> returns from inside it, and
its B::Deparse text.

C<direct ($package, @args)> makes the same closure and calls it at once:
the probe of a closure that never waited in a queue.

C<detached ($weak)> is true when the code has no package pointer (B sees
its C<STASH> as a B::SPECIAL).

C<check_kept ($what, $call)> hands a closure the test keeps to
C<< $call->(1, $closure) >> and checks (5 tests) that it is not detached, is
called as if called directly (running the event loop until then, with
AEFHelp's C<wait_until>), stays alive while kept and is freed when dropped.

=cut

use strict;
use warnings;

use Exporter qw(import);
use B ();
use B::Deparse ();
use Scalar::Util ();
use Sub::Util ();
use Test::More ();
use AEFHelp ();

our @EXPORT = qw(closure direct detached check_kept);

sub AEFClosure::Base::who { "base" }
@AEFClosure::Other::ISA = "AEFClosure::Base";

sub AEFClosure::Guard::DESTROY { push @{ $_[0][1] }, ["destroy", $_[0][0]] }

sub probe {
   my ($cb, $super) = @_;

   join "\n",
      "caller=" . (caller 1)[3],
      "subname=" . Sub::Util::subname ($cb),
      "stash=" . B::svref_2object ($cb)->STASH->NAME,
      "super=$super",
      "deparse=" . B::Deparse->new->coderef2text ($cb)
}

my %factory;

# the factory for closures of $pkg: compiled in that package
sub factory {
   my ($pkg) = @_;

   $factory{$pkg} ||= eval "package $pkg;" . q{
      sub {
         my ($tag, $log, $weak) = @_;
         my $guard = bless [$tag, $log], "AEFClosure::Guard";
         my $self;
         my $cb = sub {
            $guard if 0;
            my $super = eval { __PACKAGE__->SUPER::who };
            $super = "error" unless defined $super;
            push @$log, [$tag, AEFClosure::probe ($self, $super), @_];
         };
         Scalar::Util::weaken ($self = $cb);
         Scalar::Util::weaken ($$weak = $cb) if $weak;
         $cb
      }
   } or die $@;
}

sub closure {
   my ($pkg, $tag, $log, $weak) = @_;
   factory ($pkg)->($tag, $log, $weak)
}

sub direct {
   my ($pkg, @args) = @_;
   my @log;
   closure ($pkg, "direct", \@log)->(@args);
   $log[0][1]
}

sub detached {
   my ($weak) = @_;
   $weak && ref B::svref_2object ($weak)->STASH eq "B::SPECIAL"
}

sub check_kept {
   my ($what, $call) = @_;

   my @log;
   my $kept = closure ("main", "kept", \@log);
   $call->(1, $kept);
   Test::More::ok (!detached ($kept), "$what, kept closure: not detached");
   AEFHelp::wait_until (sub { @log });
   Test::More::is ($log[0][1], direct ("main", 1), "$what, kept closure: as if called directly");
   Test::More::is (scalar @log, 1, "$what, kept closure: alive while kept");
   undef $kept;
   Test::More::is_deeply ($log[1], ["destroy", "kept"], "$what, kept closure: freed when dropped");
   Test::More::is (scalar @log, 2, "$what, kept closure: nothing else happened");
}

1
