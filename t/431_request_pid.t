use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use IPC::Manager qw(ipcm_spawn);

# a request records the peer's pid at sending time, looked up through the
# peer's pidfile (its inode tells whether the pid read last is still the
# one): a re-registered peer is seen at the next request
{
   package My::Requester;
   use Role::Tiny::With;
   sub new    { bless { client => $_[1] }, $_[0] }
   sub client { $_[0]->{client} }
   with 'IPC::Manager::Role::Service::Requests';
}

for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   my $spawn = ipcm_spawn (protocol => $proto);
   my $a = $spawn->connect ('a');
   my $b = $spawn->connect ('b');
   my $r = My::Requester->new ($a);
   my $pidfile = $b->path . ".pid";

   my $id = $r->send_request (b => "one");
   is $r->{_RESPONSES}{$id}{pid}, $$, "$proto: the peer's pid";
   $id = $r->send_request (b => "two");
   is $r->{_RESPONSES}{$id}{pid}, $$, "$proto: again (cached)";

   # the pidfile replaced (as a new registration does) with another live pid
   my $other = fork;
   if (!$other) { sleep 1 while 1; exit }
   open my $fh, ">", "$pidfile.pend" or die $!;
   print $fh $other;
   close $fh;
   rename "$pidfile.pend", $pidfile or die $!;
   $id = $r->send_request (b => "three");
   is $r->{_RESPONSES}{$id}{pid}, $other, "$proto: a new pidfile is read";
   my ($peer, $pid) = $r->pending_response_peer ($id);
   is "$peer $pid", "b $other", "$proto: pending_response_peer";

   # no pidfile: as peer_pid says
   unlink $pidfile;
   $id = $r->send_request (b => "four");
   is $r->{_RESPONSES}{$id}{pid}, 0, "$proto: no pidfile, pid 0";
   kill KILL => $other;
   waitpid ($other, 0);

   # a peer that left: the send fails
   $b->get_messages;
   $b->disconnect;
   ok !eval { $r->send_request (b => "five"); 1 }, "$proto: a peer that left: the request fails";
   $a->disconnect;
}

done_testing;
