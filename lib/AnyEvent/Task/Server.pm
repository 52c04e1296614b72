package AnyEvent::Task::Server;

use strict;
use warnings;

our $VERSION = '0.805';

use AnyEvent ();
use AnyEvent::Socket ();
use Scalar::Util ();
use AnyEvent::Task::Util ();
use AnyEvent::Task::Server::Worker ();

# the original documented the keep-alive array under this name
*children_sockets = \@AnyEvent::Task::Util::children_sockets;

sub new {
   my ($class, %arg) = @_;
   my $self = bless {}, $class;

   $self->{name} = $arg{name};
   $self->{setup} = $arg{setup} || sub {};
   $self->{checkout_done} = $arg{checkout_done} || sub {};
   $self->{hung_worker_timeout} = exists $arg{hung_worker_timeout} ? $arg{hung_worker_timeout} : 300;
   $0 = "AET-Server:$self->{name}" if defined $self->{name};

   my $listen = $arg{listen} or die "unspecified listen path";

   # the interface is checked before the socket exists, so that a bad one
   # leaves an existing socket file alone
   die "unspecified interface" unless exists $arg{interface};
   my $iface = $arg{interface};
   die "interface must be a sub or a hash"
      unless ref $iface eq 'CODE' || ref $iface eq 'HASH';
   $self->{interface} = $iface;

   $self->{conns} = 0;
   $self->{children} = {};

   my $weak = $self;
   Scalar::Util::weaken ($weak);
   $self->{listener} = AnyEvent::Socket::tcp_server ($listen->[0], $listen->[1], sub {
      $weak->handle_new_connection ($_[0]) if $weak;
   }, sub {
      # the listening socket: each worker gives up its copy at fork
      $weak->{listen_fh} = $_[0];
      Scalar::Util::weaken ($weak->{listen_fh});
      1024
   });

   $self
}

sub run {
   AE::cv->recv;
   die "AnyEvent::Task::Server->run should never return";
}

sub handle_new_connection {
   my ($self, $fh) = @_;

   my $n = ++$self->{conns};
   my $pid = AnyEvent::Task::Server::Worker::_fork ($self->{listen_fh} ? $self->{listen_fh} : ());

   if (!defined $pid) {
      print STDERR "fork failed: $!\n";
      close $fh;
      return;
   }

   if ($pid) {
      close $fh;
      my $children = $self->{children};
      $children->{$pid} = AE::child $pid, sub { delete $children->{$pid} };
      return;
   }

   $0 = "AET-Worker:$self->{name}($n)" if defined $self->{name};
   AnyEvent::Task::Server::Worker::handle_worker ($self, $fh);
}

sub fork_task_server {
   my %arg = @_;
   AnyEvent::Task::Util::fork_anyevent_subprocess (sub {
      AnyEvent::Task::Server->new (%arg)->run;
   });
}

1
