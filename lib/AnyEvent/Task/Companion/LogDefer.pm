# This file is the distribution's own Log::Defer. It is never loaded under
# this private name: AnyEvent::Task::Companion serves it for "Log/Defer.pm"
# from the end of @INC, so that an installed Log::Defer is always found
# first.
package Log::Defer;

use strict;
use warnings;

our $VERSION = '0.312';

use Carp qw(croak);
use Time::HiRes ();

sub _rel {
   my ($t) = @_;
   $t = 0 if $t < 0;
   0 + sprintf "%.6f", $t
}

sub new {
   my ($class, @arg) = @_;
   my ($cb, $opt);

   if (ref $arg[0] eq 'CODE') {
      $cb = shift @arg;
      $opt = shift @arg || {};
      croak "two callbacks provided" if $opt->{cb};
   } elsif (ref $arg[0] eq 'HASH') {
      $opt = shift @arg;
      $cb = $opt->{cb};
   } elsif (@arg) {
      croak "first arg to new must be a coderef or hashref";
   }
   croak "must provide callback to Log::Defer" unless ref $cb;

   my $self = { %$opt, cb => $cb };
   $self->{msg} = { start => 0 + sprintf "%.6f", Time::HiRes::time };
   bless $self, $class
}

sub _now { _rel (Time::HiRes::time - $_[0]{msg}{start}) }

sub add_log {
   my ($self, $level, @items) = @_;
   return if defined $self->{verbosity} && $level > $self->{verbosity};
   @items = $items[0]->() if ref $items[0] eq 'CODE';
   push @{ $self->{msg}{logs} }, [$self->_now, $level, @items];
   return;
}

sub error { shift->add_log (10, @_) }
sub warn  { shift->add_log (20, @_) }
sub info  { shift->add_log (30, @_) }
sub debug { shift->add_log (40, @_) }

sub timer {
   my ($self, $name) = @_;
   my $t = [$name, $self->_now];
   push @{ $self->{msg}{timers} }, $t;
   bless [$t, $self->{msg}{start}], "Log::Defer::_Timer"
}

sub Log::Defer::_Timer::DESTROY {
   my ($t, $start) = @{$_[0]};
   push @$t, _rel (Time::HiRes::time - $start) if @$t < 3;
}

sub data { $_[0]{msg}{data} ||= {} }

sub merge {
   my ($self, $msg) = @_;
   my $mine = $self->{msg};
   my $off = $msg->{start} - $mine->{start};

   my $i = 0;
   my @logs = (@{ $mine->{logs} || [] },
               map { my @e = @$_; $e[0] += $off; \@e } @{ $msg->{logs} || [] });
   @logs = map $_->[1], sort { $a->[0][0] <=> $b->[0][0] || $a->[2] <=> $b->[2] }
           map [$_, $_, $i++], @logs;
   $mine->{logs} = \@logs;

   for my $t (@{ $msg->{timers} || [] }) {
      $t->[1] += $off;
      $t->[2] = @$t > 2 ? $t->[2] + $off : $off;
      push @{ $mine->{timers} }, $t;
   }

   $mine->{data} = { %{ $mine->{data} || {} }, %{ $msg->{data} } } if $msg->{data};

   for (qw(logs timers data)) {
      delete $mine->{$_} if exists $mine->{$_}
         && !(ref $mine->{$_} eq 'HASH' ? %{ $mine->{$_} } : @{ $mine->{$_} });
   }
   return;
}

sub DESTROY {
   my ($self) = @_;
   my $msg = $self->{msg};
   my $end = $msg->{end} = $self->_now;
   for (@{ $msg->{timers} || [] }) {
      push @$_, $end if @$_ < 3;
   }
   $self->{cb}->($msg);
}

1

__END__

=head1 NAME

Log::Defer (AnyEvent::Task's copy) - collect a structured log over a request, deliver it at the end

=head1 SYNOPSIS

   use Log::Defer;

   my $log = Log::Defer->new (sub {
      my $msg = shift;   # { start, end, logs, timers, data }
      print encode_json ($msg), "\n";
   });

   $log->info ("request", $path);
   my $t = $log->timer ("db");
   ...
   undef $t;            # timer ends
   $log->data->{user} = $id;
   undef $log;          # the callback runs now

=head1 DESCRIPTION

This is the copy of Log::Defer that comes with the AnyEvent::Task
implementation of this distribution. It is loaded only when no other
Log::Defer is installed (see L<AnyEvent::Task::Companion>).

=over

=item Log::Defer->new ($cb), ->new ({ cb => $cb, verbosity => $n, ... }), ->new ($cb, { ... })

Records C<start> (epoch seconds, 6 decimals). Croaks with C<two callbacks
provided>, C<first arg to new must be a coderef or hashref> or C<must
provide callback to Log::Defer>. When the object goes away it sets C<end>
(seconds since start), ends open timers and calls C<$cb> with the message
hash.

=item error, warn, info, debug (@items); add_log ($level, @items)

Adds C<[TIME, LEVEL, @items]> to C<logs> (levels 10, 20, 30, 40), unless
C<verbosity> is set and lower than the level. A code reference as first
item is called for the items.

=item $guard = timer ($name)

Starts a timer; it ends when the guard goes away.

=item data ()

The C<data> hash.

=item merge ($msg)

Merges another log's message hash (for example a worker's): its times are
shifted to this log's start, logs sorted by time, timers appended, data
merged.

=back

=head1 DIFFERENCES FROM LOG::DEFER 0.312

None known for the interface above.

=cut
