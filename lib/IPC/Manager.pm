package IPC::Manager;

use strict;
use warnings;

use Carp qw(croak);
use Scalar::Util qw(blessed);
use IPC::Manager::Util qw(require_mod);
use IPC::Manager::Spawn ();
use IPC::Manager::Service::State ();

our $VERSION = '0.000038';

use Exporter ();
our @ISA       = qw(Exporter);
our @EXPORT_OK = qw(
   ipcm ipcm_service ipcm_worker ipcm_spawn ipcm_connect ipcm_reconnect
   ipcm_default_protocol ipcm_default_protocol_list ipcm_default_serializer
);

*ipcm_service = \&IPC::Manager::Service::State::ipcm_service;
*ipcm_worker  = \&IPC::Manager::Service::State::ipcm_worker;

sub ipcm() { 'IPC::Manager' }

my $PROTOCOL;
my @PROTOCOLS = qw(UnixSocket ConnectionUnix MessageFiles);
my $SERIALIZER = 'JSON';
my %SER_CACHE;

sub _proto_class {
   my ($name) = @_;
   return $name if $name =~ s/^\+//;
   return $name if $name =~ /^IPC::Manager::Client::/;
   return "IPC::Manager::Client::$name";
}

sub _ser_class {
   my ($name) = @_;
   return $name if $name =~ s/^\+//;
   return $name if $name =~ /^IPC::Manager::Serializer::/;
   return "IPC::Manager::Serializer::$name";
}

# a class name, or one cached instance for [$class, %args]
sub _serializer {
   my ($spec) = @_;
   return $spec if blessed $spec;
   if (ref $spec eq 'ARRAY') {
      my ($class, %args) = @$spec;
      $class = require_mod (_ser_class ($class));
      my $key = join "\0", $class, map { defined $_ ? $_ : '' } %args;
      return $SER_CACHE{$key} ||= $class->new (%args);
   }
   croak "Don't know how to interpret serializer spec '$spec'" if ref $spec;
   return require_mod (_ser_class ($spec));
}

sub ipcm_default_protocol {
   if (@_) {
      my $p = shift;
      $PROTOCOL = defined $p ? require_mod (_proto_class ($p)) : undef;
   }
   return $PROTOCOL;
}

sub ipcm_default_protocol_list {
   if (@_) {
      @PROTOCOLS = (@_ == 1 && ref $_[0] eq 'ARRAY') ? @{ $_[0] } : @_;
   }
   return [@PROTOCOLS];
}

sub ipcm_default_serializer {
   if (@_) {
      $SERIALIZER = @_ > 1 ? [@_] : $_[0];
   }
   my $s = _serializer ($SERIALIZER);
   return $s;
}

sub ipcm_spawn {
   my %p = @_;
   my $protocol   = delete $p{protocol};
   my $protocols  = delete $p{protocols};
   my $serializer = delete $p{serializer};
   my %spawn;
   for my $k (qw(guard do_sanity_check debug signal stash)) {
      $spawn{$k} = delete $p{$k} if exists $p{$k};
   }
   delete $p{dbh};

   $protocol = $PROTOCOL unless $protocol;
   if ($protocol) {
      $protocol = require_mod (_proto_class ($protocol));
   }
   else {
      for my $cand (@{ $protocols || [@PROTOCOLS] }) {
         my $class = _proto_class ($cand);
         next unless eval { require_mod ($class); 1 };
         next unless $class->viable;
         $protocol = $class;
         last;
      }
      croak "Could not find a viable protocol" unless $protocol;
   }
   $serializer = defined $serializer ? _serializer ($serializer) : ipcm_default_serializer ();
   my $route = $protocol->spawn (%p);
   return IPC::Manager::Spawn->new (%spawn, protocol => $protocol, serializer => $serializer, route => $route);
}

sub _cinfo {
   my ($cinfo, $params) = @_;
   my ($proto, $ser, $route);
   if (ref $cinfo eq 'ARRAY') {
      ($proto, $ser, $route) = @$cinfo;
   }
   elsif (ref $cinfo eq 'HASH') {
      %$params = (%$params, %$cinfo);
      ($proto, $ser, $route) = delete @$params{qw(protocol serializer route)};
   }
   elsif (defined $cinfo && !ref $cinfo) {
      require IPC::Manager::Serializer::JSON;
      my $d = eval { IPC::Manager::Serializer::JSON->deserialize ($cinfo) };
      croak "Not sure what to do with $cinfo" unless ref $d eq 'ARRAY';
      ($proto, $ser, $route) = @$d;
   }
   else {
      croak "Not sure what to do with " . (defined $cinfo ? $cinfo : 'undef');
   }
   $proto = require_mod (_proto_class ($proto || $PROTOCOL || croak "Not sure what to do with $cinfo"));
   $ser = defined $ser ? _serializer ($ser) : ipcm_default_serializer ();
   return ($proto, $ser, $route);
}

sub ipcm_connect {
   my ($id, $cinfo, %params) = @_;
   my ($proto, $ser, $route) = _cinfo ($cinfo, \%params);
   return $proto->connect ($id, $ser, $route, %params);
}

sub ipcm_reconnect {
   my ($id, $cinfo, %params) = @_;
   my ($proto, $ser, $route) = _cinfo ($cinfo, \%params);
   return $proto->reconnect ($id, $ser, $route, %params);
}

sub connect               { shift; ipcm_connect (@_) }
sub reconnect             { shift; ipcm_reconnect (@_) }
sub spawn                 { shift; ipcm_spawn (@_) }
sub service               { shift; ipcm_service (@_) }
sub worker                { shift; ipcm_worker (@_) }
sub default_protocol      { shift; ipcm_default_protocol (@_) }
sub default_protocol_list { shift; ipcm_default_protocol_list (@_) }
sub default_serializer    { shift; ipcm_default_serializer (@_) }

1;
