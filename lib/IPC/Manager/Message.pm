package IPC::Manager::Message;

use strict;
use warnings;

use Carp qw(croak);
use IPC::Manager::Util qw(uuid);
use IPC::Manager::Core ();
use IPC::Manager::Base ();
our @ISA = ('IPC::Manager::Base');

our $VERSION = '0.000038';

my @FIELDS = qw(from to broadcast stamp stamp_ord id content);

sub init {
   my $self = shift;
   croak "'from' is a required attribute" unless defined $self->{from};
   croak "Message must either have a 'to' or 'broadcast' attribute"
      unless defined $self->{to} || $self->{broadcast};
   croak "'content' is a required attribute" unless defined $self->{content};
   unless (defined $self->{stamp}) {
      my ($t, $ord) = IPC::Manager::Core::stamp ();
      $self->{stamp} = $t;
      $self->{stamp_ord} = $ord unless defined $self->{stamp_ord};
   }
   $self->{stamp_ord} = 0 unless defined $self->{stamp_ord};
   $self->{id} = uuid () unless defined $self->{id};
   return;
}

__PACKAGE__->_accessors (ro => \@FIELDS);

# the fields of a new message from this process, as init completes them,
# in a plain hash (not blessed): the request and response paths build
# their messages here, without the constructor's checks, which their
# callers meet by construction (from, to and content are defined). The
# stamps of this process's messages (here, in init and in the JSON texts
# IPC::Manager::Core::msg_put writes) come from one clock and counter, in
# the C core: the time to the microsecond, stamp_ord counting up while it
# repeats.
sub _fields {
   my ($t, $ord) = IPC::Manager::Core::stamp ();
   return { from => $_[0], to => $_[1], content => $_[2], stamp => $t, stamp_ord => $ord,
            id => IPC::Manager::Core::uuid () };
}

# what a peer sent (decoded) as a message: a hash is blessed as it is when
# it has every field init would check or complete, else given to the
# constructor (which croaks on what is missing); anything else dies
sub _received {
   my $h = $_[0];
   die "not a message envelope\n" unless ref $h eq 'HASH';
   return bless $h, __PACKAGE__
      if defined $h->{from} && defined $h->{content} && (defined $h->{to} || $h->{broadcast})
         && defined $h->{stamp} && defined $h->{stamp_ord} && defined $h->{id};
   return __PACKAGE__->new (%$h);
}

sub is_terminate {
   my $c = $_[0]->{content};
   return (ref $c eq 'HASH' && $c->{terminate}) ? 1 : 0;
}

sub clone {
   my ($self, %over) = @_;
   my %copy = %$self;
   delete $copy{id};
   return ref ($self)->new (%copy, %over);
}

sub TO_JSON {
   my $self = shift;
   return { map { exists $self->{$_} ? ($_ => $self->{$_}) : () } keys %$self };
}

sub sort_messages {
   # (the usual batch, plain numbers already in order, is left as it is,
   # as the stable sort below would leave it)
   return @_ if IPC::Manager::Core::msgs_in_order (@_);
   my @sorted = sort { $a->{stamp} <=> $b->{stamp} or ($a->{stamp_ord} || 0) <=> ($b->{stamp_ord} || 0) } @_;
   return @sorted;
}

1;
__END__

=head1 NAME

IPC::Manager::Message - the envelope of every message on an IPC::Manager bus

=head1 SYNOPSIS

   use IPC::Manager::Message;

   my $msg = IPC::Manager::Message->new (from => 'me', to => 'you', content => {hi => 1});
   print $msg->id, " sent at ", $msg->stamp, "\n";
   my @in_order = IPC::Manager::Message::sort_messages (@batch);

=head1 DESCRIPTION

A message is a blessed hash with the keys C<from>, C<to>, C<broadcast>,
C<stamp>, C<stamp_ord>, C<id> and C<content>. Code may read these keys
directly; they travel on the bus as a serialized hash (only the keys that
are present).

C<stamp> is the time of construction (fractional seconds since the epoch,
to the microsecond).
C<stamp_ord> breaks ties: it is 0 when the stamp differs from the previous
message built in this process and counts up while it repeats. C<id> is a
random UUID.

=head1 METHODS

=over

=item $msg = IPC::Manager::Message->new (%fields)

Croaks C<'from' is a required attribute>, C<'content' is a required
attribute> (content must be defined, but may be any serializable value)
and C<Message must either have a 'to' or 'broadcast' attribute>. Unknown
keys are kept.

=item from, to, broadcast, stamp, stamp_ord, id, content

Read accessors.

=item $bool = $msg->is_terminate

True when the content is a hash with a true C<terminate> key: the message
the bus owner broadcasts to stop every service.

=item $copy = $msg->clone (%overrides)

A copy with a new id (and the given fields replaced).

=item $hash = $msg->TO_JSON

A plain copy of the hash, for the serializer.

=item @sorted = IPC::Manager::Message::sort_messages (@msgs)

Sorted by C<stamp>, then C<stamp_ord>, messages that compare equal in
the order they came (a batch already in order is returned as it is).
Every batch returned by a client's C<get_messages> is sorted this way;
nothing orders messages across batches.

=back

=cut
