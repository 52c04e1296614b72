# This file is the distribution's own Callback::Frame. It is never loaded
# under this private name: AnyEvent::Task::Companion serves it for
# "Callback/Frame.pm" from the end of @INC, so that an installed
# Callback::Frame is always found first.
package Callback::Frame;

use strict;
use warnings;

our $VERSION = '1.102';

use Carp qw(croak);
use Scalar::Util qw(weaken refaddr);

our @ISA = qw(Exporter);
require Exporter;
our @EXPORT = qw(frame fub frame_try frame_catch frame_void frame_try_void);

# The frame whose code is running: { name, catch, parent }.
our $top;

# refaddr of a live frame => [weak ref to the frame, its record]
my %registry;

my %known = map { $_ => 1 } qw(code catch name existing_frame);

sub _lookup {
   my ($cb) = @_;
   return unless ref $cb eq 'CODE';
   my $e = $registry{refaddr $cb};
   $e && $e->[0] && $e->[0] == $cb ? $e->[1] : undef
}

sub is_frame {
   my $e = ref $_[0] eq 'CODE' && $registry{refaddr $_[0]};
   $e && $e->[0] && $e->[0] == $_[0] ? 1 : 0
}

# $level: how many calls up the user's call site is, seen from here
sub _make {
   my ($level, %arg) = @_;

   for (sort keys %arg) {
      croak "Unknown frame option: $_" unless $known{$_};
      croak "value missing for key $_" unless defined $arg{$_};
   }
   my $code = $arg{code} or croak "frame needs a 'code' callback";

   my $rec;
   if (exists $arg{existing_frame}) {
      $rec = _lookup ($arg{existing_frame}) or croak "existing_frame isn't a frame";
      croak "can't install new catcher if using existing_frame" if exists $arg{catch};
   } else {
      my ($file, $line) = (caller $level)[1, 2];
      # the trace line is put together only when a trace is made
      $rec = { file => $file, line => $line, parent => $top };
      $rec->{name} = $arg{name} if defined $arg{name};
      $rec->{catch} = $arg{catch} if exists $arg{catch};
   }

   # the registry entry goes when the frame does
   my $gone = bless \my $addr, "Callback::Frame::_Gone";
   my $frame = sub { _run ($rec, $code, $gone, @_) };
   $addr = refaddr $frame;
   $registry{$addr} = [$frame, $rec];
   weaken $registry{$addr}[0];
   $frame
}

sub Callback::Frame::_Gone::DESTROY {
   my $e = $registry{${$_[0]}};
   delete $registry{${$_[0]}} if $e && !$e->[0];
}

sub _run {
   my ($rec, $code, undef, @args) = @_;
   my $saved = $@;
   my $want = wantarray;
   my @ret;

   local $top = $rec;
   my $ok = eval {
      $@ = $saved;
      if ($want) { @ret = $code->(@args) }
      elsif (defined $want) { $ret[0] = $code->(@args) }
      else { $code->(@args) }
      1
   };
   return $want ? @ret : $ret[0] if $ok;
   _catch ($rec, $@);
   return;
}

sub _trace {
   my ($rec, $err) = @_;
   my $t = "$err";
   chomp $t;
   $t .= "\n----- Callback::Frame stack-trace -----\n";
   for (my $r = $rec; $r; $r = $r->{parent}) {
      $t .= "$r->{file}:$r->{line} - " . (defined $r->{name} ? $r->{name} : "ANONYMOUS FRAME") . "\n";
   }
   $t
}

# Try the handlers from $rec outwards; die with the last error when none
# takes it.
sub _catch {
   my ($rec, $err) = @_;
   for (my $r = $rec; $r; $r = $r->{parent}) {
      next unless $r->{catch};
      my $trace = _trace ($rec, $err);
      local $top = $r->{parent};
      my $catch = $r->{catch};
      return if eval { $@ = $err; $catch->($trace); 1 };
      $err = $@;
   }
   die $err;
}

sub frame { _make (1, @_) }

# Private, for AnyEvent::Task's client (which uses frame and existing_frame
# with any other Callback::Frame): a frame for each call's callback costs
# a closure, a registry entry and a destructor, so the client keeps the
# record alone. _aef_record ($name, $slot, $code, $file, $line) is the
# record frame (name => $name, ...) would make at $file:$line under the
# current frame, or nothing when $code is a frame already (it has its
# own); _aef_run ($rec, $code, ARGS) runs $code (ARGS) in that context,
# in void context, exactly as calling such a frame would. A record is
# never changed once made, so one can serve many callbacks: $slot (a
# scalar of the caller's, always passed with the same $file and $line)
# keeps a weak reference to the record returned last, which is returned
# again while it lives, for the same name under the same current frame.
sub _aef_record {
   my ($name, undef, $code, $file, $line) = @_;
   return if is_frame ($code);
   my $rec = $_[1];
   return $rec
      if $rec && ($rec->{parent} || 0) == ($top || 0)
         && (defined $name ? defined $rec->{name} && $rec->{name} eq $name : !defined $rec->{name});
   $rec = { file => $file, line => $line, parent => $top };
   $rec->{name} = $name if defined $name;
   weaken ($_[1] = $rec);
   $rec
}

sub _aef_run {
   my $rec = shift;
   my $code = shift;
   my $saved = $@;

   local $top = $rec;
   eval { $@ = $saved; $code->(@_); 1 } or _catch ($rec, $@);
   return;
}

sub fub(&@) {
   my ($code, @arg) = @_;
   _make (1, code => $code, @arg)
}

sub frame_try(&;@) {
   my ($try, $catch) = @_;
   _make (1, code => $try, ($catch ? (catch => $catch) : ()))->()
}

sub frame_catch(&) {
   croak "Useless bare frame_catch" unless wantarray;
   $_[0]
}

sub frame_void(&) {
   local $top;
   $_[0]->()
}

sub frame_try_void(&;@) {
   my ($try, $catch) = @_;
   local $top;
   _make (1, code => $try, ($catch ? (catch => $catch) : ()))->()
}

1

__END__

=head1 NAME

Callback::Frame (AnyEvent::Task's copy) - error handlers and traces that follow callbacks

=head1 SYNOPSIS

   use Callback::Frame;

   frame_try {
      $checkout->query ("...", sub { die "oops" if ...; ... });
   } frame_catch {
      my $trace = shift;
      warn "failed: $@";
   };

   my $cb = frame (name => "fetch", code => sub { ... }, catch => sub { ... });

=head1 DESCRIPTION

This is the copy of Callback::Frame that comes with the AnyEvent::Task
implementation of this distribution. It is loaded only when no other
Callback::Frame is installed (see L<AnyEvent::Task::Companion>).

A B<frame> is a code reference that remembers the frame that was running
when it was created (its parent). When a frame's code dies, the catch
handlers of the frame and of its ancestors are tried, innermost first:
each runs with C<$@> set to the error and receives a trace as its argument
(the error, a line C<----- Callback::Frame stack-trace ----->, then one
C<FILE:LINE - NAME> line per frame, innermost first). The first handler
that returns ends the search; one that dies passes its own error on. When
no handler takes the error, it is re-thrown from the frame's call.
Because the parent is recorded at creation, a callback created inside a
C<frame_try> block keeps that block's handler even when the event loop
calls it much later.

=over

=item frame (code => $cb, catch => $handler, name => $name, existing_frame => $frame)

Returns a new frame. C<name> defaults to C<ANONYMOUS FRAME>.
C<existing_frame> runs C<$cb> in that frame's context (same name, parent
and handlers) instead of creating one. Croaks with C<Unknown frame option:
KEY>, C<value missing for key KEY>, C<frame needs a 'code' callback>,
C<existing_frame isn't a frame>, C<can't install new catcher if using
existing_frame>.

=item fub { ... } OPTIONS

C<frame (code =E<gt> BLOCK, OPTIONS)>.

=item frame_try { ... } frame_catch { ... };

Creates a frame with the two blocks and runs it at once. C<frame_catch>
outside list context croaks C<Useless bare frame_catch>.

=item frame_void { ... }, frame_try_void { ... } frame_catch { ... };

The same, starting from an empty frame stack.

=item Callback::Frame::is_frame ($coderef)

True for a live frame.

=back

=head1 DIFFERENCES FROM CALLBACK::FRAME 1.102

C<frame_local> and the C<local> option (per-frame dynamic variables) are
not provided.

=cut
