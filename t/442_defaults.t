use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use IPC::Manager qw(ipcm_spawn ipcm_connect ipcm_default_protocol
   ipcm_default_protocol_list ipcm_default_serializer);
use IPC::Manager::Client::UnixSocket ();
use IPC::Manager::Serializer::JSON ();

# protocol and serializer names resolve to the same classes every time
# (they are resolved once per name), a default given with a '+' included

{
   package My::Proto;
   our @ISA = ('IPC::Manager::Client::UnixSocket');
   $INC{'My/Proto.pm'} = __FILE__;
}
{
   package My::Ser;
   our @ISA = ('IPC::Manager::Serializer::JSON');
   our $N = 0;
   sub new { my ($class, %a) = @_; $N++; return bless {%a}, $class }
   $INC{'My/Ser.pm'} = __FILE__;
}

# a default protocol given with a '+' is the class itself, for a bus and
# a connection without a protocol of its own
is ipcm_default_protocol ('+My::Proto'), 'My::Proto', "'+' default: the class itself";
is ipcm_default_protocol (), 'My::Proto', "kept";
for my $round (1, 2) {
   my $spawn = ipcm_spawn ();
   is $spawn->protocol, 'My::Proto', "spawn $round on the '+' default";
   my $con = ipcm_connect ("c$round", { route => $spawn->route });
   isa_ok $con, 'My::Proto', "connect $round without a protocol";
   $con->disconnect;
}
# names without '+' are expanded, the same class each time
is ipcm_default_protocol ('UnixSocket'), 'IPC::Manager::Client::UnixSocket', "expanded";
is ipcm_default_protocol ('IPC::Manager::Client::UnixSocket'), 'IPC::Manager::Client::UnixSocket', "full name kept";
is ipcm_spawn ()->protocol, 'IPC::Manager::Client::UnixSocket', "spawn on it";
is ipcm_spawn (protocol => '+My::Proto')->protocol, 'My::Proto', "explicit '+' protocol";
is ipcm_spawn (protocol => 'UnixSocket')->protocol, 'IPC::Manager::Client::UnixSocket', "explicit short name";
is ipcm_default_protocol (undef), undef, "no default";

# candidates: one that does not load is skipped every time, silently
for my $round (1, 2) {
   my @w;
   local $SIG{__WARN__} = sub { push @w, @_ };
   my $spawn = ipcm_spawn (protocols => ['NoSuchProtocol', '+My::Proto']);
   is $spawn->protocol, 'My::Proto', "round $round: the first that loads";
   is "@w", "", "round $round: silently";
}
{
   my $err = eval { ipcm_spawn (protocols => ['NoSuchProtocol']); 1 } ? '' : $@;
   like $err, qr/^Could not find a viable protocol at /, "none loads";
}

# the default serializer: what the setter set, resolved once, re-resolved
# when set again
is ipcm_default_serializer (), 'IPC::Manager::Serializer::JSON', "default serializer";
is ipcm_default_serializer ('+My::Ser'), 'My::Ser', "'+' serializer";
is ipcm_default_serializer (), 'My::Ser', "kept";
is ipcm_spawn ()->serializer, 'My::Ser', "a new bus uses it";
my $inst = ipcm_default_serializer ('+My::Ser', level => 3);
isa_ok $inst, 'My::Ser', "[class, args]: an instance";
is $inst->{level}, 3, "with its arguments";
is ipcm_default_serializer (), $inst, "the same instance again";
is $My::Ser::N, 1, "made once";
is ipcm_spawn ()->serializer, $inst, "a new bus uses the instance";
is ipcm_default_serializer ('JSON'), 'IPC::Manager::Serializer::JSON', "set back";
is ipcm_spawn ()->serializer, 'IPC::Manager::Serializer::JSON', "a new bus uses it";
{
   my $err = eval { ipcm_default_serializer ('NoSuchSerializer'); 1 } ? '' : $@;
   like $err, qr/^Can't locate IPC\/Manager\/Serializer\/NoSuchSerializer\.pm/, "a serializer that does not load";
   $err = eval { ipcm_default_serializer (); 1 } ? '' : $@;
   like $err, qr/^Can't locate IPC\/Manager\/Serializer\/NoSuchSerializer\.pm/, "still (not cached)";
   is ipcm_default_serializer ('JSON'), 'IPC::Manager::Serializer::JSON', "set back";
}

done_testing;
