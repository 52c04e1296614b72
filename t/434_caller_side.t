use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use Cpanel::JSON::XS ();
use IPC::Manager qw(ipcm_spawn);
use IPC::Manager::Message ();
use IPC::Manager::Service::Handle ();

# the caller's side of requests, where it takes short cuts: the JSON text
# of a new message put together directly, a handle's wait on a
# ConnectionUnix client whose connections come and go, and the write
# failures of ConnectionUnix's sends

my $json = Cpanel::JSON::XS->new->ascii->convert_blessed->allow_nonref;

# the text of a new message: the fields _fields gives, and each encoded as
# the coder encodes it in the hash
{
   my $content = { ipcm_request_id => "R-1", request => ["x\x{e9}", 1.5, undef] };
   my ($id, $text) = IPC::Manager::Message::_json_new ($json, $json->encode ("me"), "you", $content);
   my $got = $json->decode ($text);
   my $want = IPC::Manager::Message::_fields ("me", "you", $content);
   is_deeply [sort keys %$got], [sort keys %$want], "the fields of a new message";
   is $got->{id}, $id, "the id returned is the one written";
   like $id, qr/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}\z/, "a version 4 UUID";
   is_deeply [@$got{qw(from to content)}], ["me", "you", $content], "from, to, content";
   unlike $text, qr/[^\x00-\x7f]/, "ASCII only";
   ok $got->{stamp} > 1e9, "a time stamp";

   # the recipient as the coder writes it: a number stays a number
   (undef, $text) = IPC::Manager::Message::_json_new ($json, '"me"', 5, 1);
   like $text, qr/"to":5[,}]/, "a numeric recipient";

   # the stamp as the coder writes a time: a whole second gets ".0"
   for my $case ([1796579379.25, "1796579379.25"], [1796579379.000004, "1796579379"], [1796579379, "1796579379.0"]) {
      my ($t, $want) = @$case;
      my $nv = unpack "d", pack "d", $t;    # a float, as Time::HiRes::time returns
      no warnings 'redefine';
      local *Time::HiRes::time = sub () { $nv };
      (undef, $text) = IPC::Manager::Message::_json_new ($json, '"me"', "you", 1);
      my ($stamp) = $text =~ /"stamp":([^,}]+)/;
      is $stamp, $want, "stamp $want";
      is $stamp, $json->encode (unpack "d", pack "d", $t), "as the coder writes it";
   }

   # stamp_ord counts up while the stamp repeats
   no warnings 'redefine';
   local *Time::HiRes::time = sub () { 1796579380.5 };
   my @ord = map { my (undef, $t) = IPC::Manager::Message::_json_new ($json, '"me"', "you", $_); $json->decode ($t)->{stamp_ord} } 1 .. 3;
   is_deeply \@ord, [0, 1, 2], "stamp_ord";
   like do { local $@; eval { IPC::Manager::Message::_json_new ($json, '"me"', "you", sub {}) }; $@ },
      qr/encountered CODE\(0x[0-9a-f]+\), but JSON can only represent references to arrays or hashes/,
      "content JSON cannot hold";
}

my $spawn = ipcm_spawn (protocol => 'ConnectionUnix');
my $info = $spawn->info;

# a handle waiting on a ConnectionUnix client: a connection made after the
# wait began is waited on too, and one that went away no longer is
{
   my $h = IPC::Manager::Service::Handle->new (service_name => 'nobody', ipcm_info => $info, name => 'h');
   my $c = $h->client;
   is $h->poll (0), undef, "nothing yet";
   my $b = $spawn->connect ('b');
   $b->send_message (h => "one");
   ok $h->poll (10), "a message from a new connection";
   $b->send_message (h => "two");
   my $t = time;
   ok $h->poll (10), "the next one on that connection";
   ok time - $t < 5, "seen when it came";
   is_deeply [map $_->content, $h->messages], ["one", "two"], "both, in order";
   my $bits = $c->_select_bits;
   $b->disconnect;
   $h->poll (0.5) for 1 .. 3;
   isnt $c->_select_bits, $bits, "the bits change when the connection goes";
   is scalar (@{ $c->{_conns} }), 0, "and it is gone";
   my $d = $spawn->connect ('d');
   $d->send_message (h => "three");
   ok $h->poll (10), "a message from yet another connection";
   is_deeply [map $_->content, $h->messages], ["three"], "its message";
   $d->disconnect;
   undef $h;
}

# write failures of a connection whose reader is gone: a blocking send
# croaks, a drain warns; both drop the connection
{
   my $a = $spawn->connect ('a');
   my $e = $spawn->connect ('e');
   $a->send_message (e => "hello");
   ok $a->{_by_peer}{e}, "connected";
   $e->disconnect (sub { });
   my $line = __LINE__ + 1;
   ok !eval { $a->send_message (e => "x" x 100_000) for 1 .. 100; 1 }, "a send to a reader gone";
   like $@, qr/^write failed: .+ at \Q${\ __FILE__}\E line $line\.$/, "the error text";
   ok !$a->{_by_peer}{e}, "the connection dropped";

   my $f = $spawn->connect ('f');
   $a->set_send_blocking (0);
   {
      local $a->{_hold} = 1;
      $a->send_message (f => "held");
   }
   $f->disconnect;
   ok $a->have_pending_sends, "held";
   my @warn;
   {
      local $SIG{__WARN__} = sub { push @warn, $_[0] };
      $a->drain_pending;
   }
   is scalar (@warn), 1, "a drain to a reader gone warns" or diag explain \@warn;
   like $warn[0], qr/^ConnectionUnix: send to 'f' failed during drain: write failed: /, "the warning";
   ok !$a->have_pending_sends, "nothing left queued";
   ok !$a->{_by_peer}{f}, "the connection dropped";
   $a->disconnect;
}

done_testing;
