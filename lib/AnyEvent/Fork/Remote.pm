=head1 NAME

AnyEvent::Fork::Remote - remote processes with the AnyEvent::Fork interface

=cut

package AnyEvent::Fork::Remote;

use strict;
no warnings;

use Carp ();
use Errno ();
use Socket ();

use AnyEvent ();
use AnyEvent::Util ();

our $VERSION = '1.0';

# the object: [create callback, accumulated program text, send_arg strings]
sub CREATE () { 0 }
sub CODE   () { 1 }
sub ARGS   () { 2 }

# The handshake token is the XOR of these two printable strings, so the
# token itself never appears in the program, and a channel that echoes what
# it is sent (a terminal) cannot fake it.
my $K0    = 'aqpndsH0we';
my $K1    = 'kKbOetzRbo';
my $TOKEN = $K0 ^ $K1; # "\n:\x12!\x01\x072b\x15\n"

# the child processes started by new_exec/new_execp, reaped as they exit
my %CHILD;

# octets only: a copy of each string, undef as ""; croaks on wide characters
sub _octets {
   my $what = shift;

   map {
      my $s = defined $_ ? "$_" : "";
      utf8::downgrade ($s, 1)
         or Carp::croak ("Wide character in AnyEvent::Fork::Remote::$what");
      $s
   } @_
}

# a perl literal for an octet string, understood by any perl 5: a
# double-quoted string in which every byte but a few plain ones is \xHH
sub _q {
   my ($s) = @_;

   $s =~ s/([^A-Za-z0-9_ .,:\/+=-])/sprintf "\\x%02x", ord $1/ge;

   "\"$s\""
}

sub new {
   my ($class, $create) = @_;

   bless [$create, "", []], $class
}

sub _spawn {
   my ($done, $path, $argv) = @_;

   require AnyEvent::Fork::Core;

   socketpair my $fh, my $slave, Socket::AF_UNIX (), Socket::SOCK_STREAM (), Socket::PF_UNSPEC ()
      or die "AnyEvent::Fork::Remote: socketpair: $!";

   # a program that cannot be started leaves the socket without peer: the
   # bootstrap sees end-of-file and reports undef to run's callback
   if (defined $path) {
      my $pid = AnyEvent::Fork::Core::spawn (
         $path, $argv, [map "$_=$ENV{$_}", keys %ENV], $slave, 1,
      );

      $CHILD{$pid} = AE::child $pid, sub { delete $CHILD{$pid} }
         if $pid > 0;
   }

   close $slave;
   $done->($fh)
}

sub new_exec {
   my ($class, $path, @argv) = @_;

   $class->new (sub { _spawn ($_[0], $path, \@argv) })
}

# execvp's search: a name without a slash is looked up in $ENV{PATH} (an
# empty entry meaning the current directory); undef when nothing is found
sub _search {
   my ($file) = @_;

   return $file if $file =~ /\//;
   return undef unless length $file;

   for my $dir (split /:/, (defined $ENV{PATH} ? $ENV{PATH} : "/bin:/usr/bin"), -1) {
      my $path = (length $dir ? $dir : ".") . "/$file";
      return $path if -f $path && -x _;
   }

   undef
}

sub new_execp {
   my ($class, $file, @argv) = @_;

   $class->new (sub { _spawn ($_[0], _search ($file), \@argv) })
}

sub new_from_fh {
   my ($class, @fh) = @_;

   $class->new (sub {
      my $fh = shift @fh
         or Carp::croak ("AnyEvent::Fork::Remote::new_from_fh does not support fork");

      $_[0]->($fh);
   })
}

sub fork {
   my ($self) = @_;

   bless [$self->[CREATE], $self->[CODE], [@{ $self->[ARGS] }]], ref $self
}

sub pid {
   undef
}

sub send_fh {
   Carp::croak ("send_fh is not supported on AnyEvent::Fork::Remote objects");
}

sub eval {
   my $self = shift;
   my ($code, @args) = _octets (eval => @_);

   # the "file name" perl gives this code in its messages
   (my $name = $code) =~ s/\s+/ /g;
   $name =~ s/"/''/g;
   $name = substr ($name, 0, 70) . "..." if length $name > 70;

   # a BEGIN block of its own: compiled once the code before it has run
   $self->[CODE] .= "BEGIN { local \@_ = (" . (join ",", map _q ($_), @args) . ");\n"
                  . "#line 1 \"'$name'\"\n"
                  . "$code;\n"
                  . "}\n";

   $self
}

sub require {
   my ($self, @modules) = @_;

   $self->eval ("require $_")
      for @modules;

   $self
}

sub send_arg {
   my ($self, @arg) = @_;

   push @{ $self->[ARGS] }, _octets (send_arg => @arg);

   $self
}

sub run {
   my ($self, $func, $cb) = @_;

   ($func) = _octets (run => $func);

   my $owner = (length $ENV{HOSTNAME} ? $ENV{HOSTNAME} : "*") . ":$$";

   # a program that lost its start (to a remote shell reading its input,
   # say) dies before the handshake
   my $program = "BEGIN { \$0 = " . _q ("$owner $func") . "; \$AnyEvent::Fork::Remote::BOOT = 1 }\n"
               . $self->[CODE]
               . "\$AnyEvent::Fork::Remote::BOOT or die \"AnyEvent::Fork::Remote: the start of the program was lost\\n\";\n"
               . "syswrite STDOUT, " . _q ($K0) . " ^ " . _q ($K1) . "; { my \$x; sysread STDIN, \$x, 1 }\n"
               . "$func (*STDIN" . (join "", map ", " . _q ($_), @{ $self->[ARGS] }) . ");\n"
               . "__END__\n";

   my $sync = 1;

   my $done = sub {
      my ($fh) = @_;

      unless ($fh) {
         Carp::croak ("AnyEvent::Fork::Remote: create callback failed")
            if $sync;

         # later, from an event: nobody to croak to
         Carp::carp ("AnyEvent::Fork::Remote: create callback failed");
         return $cb->(undef);
      }

      _bootstrap ($fh, $program, $cb);
   };

   my @ret = eval { $self->[CREATE]->($done) };
   $sync = 0;
   die $@ if $@;

   wantarray ? @ret : $ret[-1]
}

# write the program, wait for the token, answer it, hand over the handle
sub _bootstrap {
   my ($fh, $program, $cb) = @_;

   AnyEvent::Util::fh_nonblocking ($fh, 1);

   my ($rw, $ww);
   my $ofs = 0;
   my $win = ""; # the last (up to) 10 bytes read

   my $fail = sub {
      undef $rw;
      undef $ww;
      $cb->(undef);
   };

   $ww = AE::io $fh, 1, sub {
      my $len = syswrite $fh, $program, 1 << 20, $ofs;

      if ($len) {
         undef $ww if ($ofs += $len) >= length $program;
      } elsif (!defined $len && ($! == Errno::EAGAIN () || $! == Errno::EINTR ())) {
         # try again
      } else {
         &$fail;
      }
   };

   $rw = AE::io $fh, 0, sub {
      my $len = sysread $fh, my $buf, 1024;

      if ($len) {
         # the token may arrive in pieces: keep a window across reads
         $win = substr $win . $buf, -10;

         if ($win eq $TOKEN) {
            undef $rw;
            undef $ww; # (the child writes the token after reading everything)
            syswrite $fh, "\n";
            $cb->($fh);
         }
      } elsif (!defined $len && ($! == Errno::EAGAIN () || $! == Errno::EINTR ())) {
         # try again
      } else {
         &$fail;
      }
   };
}

1
