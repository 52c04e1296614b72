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
