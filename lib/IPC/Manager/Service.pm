package IPC::Manager::Service;

use strict;
use warnings;

use Carp qw(croak confess);
use Scalar::Util qw(blessed);
use Role::Tiny::With;

our $VERSION = '0.000038';

my @ACTIONS = qw(on_all on_cleanup on_general_message on_interval on_peer_delta on_pid on_start
                 on_unhandled should_end);

sub new {
   my $class = shift;
   my %p = (@_ == 1 && ref $_[0] eq 'HASH') ? %{$_[0]} : @_;
   my $self = bless {%p}, $class;
   $self->init;
   return $self;
}

sub init {
   my $self = shift;
   croak "'post_fork' must be a coderef"
      if defined $self->{post_fork} && ref $self->{post_fork} ne 'CODE';

   for my $a (@ACTIONS) {
      my $v = $self->{$a};
      my @cbs = !defined $v ? () : ref $v eq 'ARRAY' ? @$v : ($v);
      my @bad = grep ref $_ ne 'CODE', @cbs;
      croak "All '$a' callbacks must be coderefs, got: " . join (", ", map { defined $_ ? $_ : 'undef' } @bad)
         if @bad;
      $self->{$a} = \@cbs;
   }

   my $has_all = @{ $self->{on_all} } ? 1 : 0;
   croak "Either 'on_all' or 'handle_request' callback is required"
      unless $has_all || $self->{handle_request};
   croak "'handle_request' must be a coderef"
      if defined $self->{handle_request} && ref $self->{handle_request} ne 'CODE';
   croak "'handle_response' must be a coderef"
      if defined $self->{handle_response} && ref $self->{handle_response} ne 'CODE';
   $self->{handle_request} ||= sub { return };
   $self->{handle_response} ||= $has_all
      ? sub { return }
      : sub { confess "Got a response, but no response handler set" };

   my $sig = $self->{on_sig};
   if (defined $sig) {
      croak "'on_sig' must be a hashref" unless ref $sig eq 'HASH';
      for my $name (keys %$sig) {
         my @cbs = ref $sig->{$name} eq 'ARRAY' ? @{ $sig->{$name} } : ($sig->{$name});
         my @bad = grep ref $_ ne 'CODE', @cbs;
         croak "All signal handlers must be coderefs, got: " . join (", ", map { defined $_ ? $_ : 'undef' } @bad)
            if @bad;
         $sig->{$name} = \@cbs;
      }
   }
   else {
      $self->{on_sig} = {};
   }

   $self->clear_servicerequests_fields;
   $self->clear_serviceselect_fields;
   return;
}

for my $f (qw(name ipcm_info orig_io redirect post_fork)) {
   no strict 'refs';
   *$f = sub { $_[0]->{$f} };
}
for my $f (qw(pid watch_pids intercept_errors expose_error_details use_posix_exit)) {
   no strict 'refs';
   *$f = sub { $_[0]->{$f} };
   *{"set_$f"} = sub { $_[0]->{$f} = $_[1] };
}
sub interval { defined $_[0]->{interval} ? $_[0]->{interval} : 0.2 }
sub cycle    { defined $_[0]->{cycle}    ? $_[0]->{cycle}    : 0.2 }

for my $a (@ACTIONS) {
   no strict 'refs';
   *$a = sub { $_[0]->{$a} };
   *{"push_$a"}    = sub { my ($s, $cb) = @_; push @{ $s->{$a} }, $cb; return };
   *{"unshift_$a"} = sub { my ($s, $cb) = @_; unshift @{ $s->{$a} }, $cb; return };
   *{"remove_$a"}  = sub { my ($s, $cb) = @_; @{ $s->{$a} } = grep $_ != $cb, @{ $s->{$a} }; return };
   *{"clear_$a"}   = sub { my ($s) = @_; @{ $s->{$a} } = (); return };
   next if $a eq 'should_end';
   *{"run_$a"} = sub {
      my ($s, @args) = @_;
      return [ map { scalar $_->($s, @args) } @{ $s->{$a} } ];
   };
}

sub run_should_end {
   my ($self, @args) = @_;
   my $end = 0;
   for my $cb (@{ $self->{should_end} }) { $end = 1 if $cb->($self, @args) }
   return $end;
}

sub signals_to_grab { my @s = sort keys %{ $_[0]->{on_sig} }; return @s }

sub push_on_sig    { my ($s, $sig, $cb) = @_; push @{ $s->{on_sig}{$sig} }, $cb; return }
sub unshift_on_sig { my ($s, $sig, $cb) = @_; unshift @{ $s->{on_sig}{$sig} }, $cb; return }
sub remove_on_sig {
   my ($s, $sig, $cb) = @_;
   my $l = $s->{on_sig}{$sig} or return;
   @$l = grep $_ != $cb, @$l;
   return;
}
sub clear_on_sig { my ($s, $sig) = @_; delete $s->{on_sig}{$sig}; return }
sub run_on_sig {
   my ($self, $sig, @args) = @_;
   return [ map { scalar $_->($self, $sig, @args) } @{ $self->{on_sig}{$sig} || [] } ];
}

sub handle_request  { my $self = shift; $self->{handle_request}->($self, @_) }
sub handle_response { my $self = shift; $self->{handle_response}->($self, @_) }

sub post_fork_hook {
   my $self = shift;
   $self->{post_fork}->($self) if $self->{post_fork};
   return;
}

with 'IPC::Manager::Role::Service';

sub DESTROY {
   my $self = shift;
   return unless defined $self->{pid} && $self->{pid} == $$;
   return unless $self->{_WORKERS} && %{ $self->{_WORKERS} };
   local ($?, $!, $@);
   eval { $self->terminate_workers; 1 };
   return;
}

1;
