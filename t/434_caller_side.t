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

# the text of a new message, written in C: the fields _fields gives, the
# sender, recipient and content as the coder encodes them
{
   my $content = { ipcm_request_id => "R-1", request => ["x\x{e9}", 1.5, undef] };
   my $text = '';
   my $id = IPC::Manager::Core::msg_put ($text, 0, $json->encode ("me"), $json->encode ("you"), $json->encode ($content));
   my $got = $json->decode ($text);
   my $want = IPC::Manager::Message::_fields ("me", "you", $content);
   is_deeply [sort keys %$got], [sort keys %$want], "the fields of a new message";
   is $got->{id}, $id, "the id returned is the one written";
   like $id, qr/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}\z/, "a version 4 UUID";
   is_deeply [@$got{qw(from to content)}], ["me", "you", $content], "from, to, content";
   unlike $text, qr/[^\x00-\x7f]/, "ASCII only";
   like $text, qr/"stamp":\d{10,}\.\d{6},"stamp_ord":\d+,/, "the stamp to the microsecond, its tie counter";
   ok abs ($got->{stamp} - time) < 60, "the time now";

   # as a frame, appended
   my $buf = "xyz";
   $id = IPC::Manager::Core::msg_put ($buf, 1, '"me"', '"you"', '1');
   is substr ($buf, 0, 3), "xyz", "appended";
   is unpack ("N", substr ($buf, 3, 4)), length ($buf) - 7, "a frame: the length first";
   is_deeply [@{ $json->decode (substr $buf, 7) }{qw(from to content id)}], ["me", "you", 1, $id], "its message";

   # the stamps of messages, objects and texts alike, come from one clock
   # and counter: stamp_ord counts up while the time repeats, 0 when it
   # changes (the C test sets the time; here the sequence is checked)
   my @seq;
   for (1 .. 300) {
      my $t = '';
      IPC::Manager::Core::msg_put ($t, 0, '1', '2', '3');
      my $m = $json->decode ($t);
      push @seq, [sprintf ("%.6f", $m->{stamp}), $m->{stamp_ord}];
      my $o = IPC::Manager::Message->new (from => 1, to => 2, content => 3);
      push @seq, [sprintf ("%.6f", $o->{stamp}), $o->{stamp_ord}];
   }
   my $bad = grep { $seq[$_][1] != ($seq[$_][0] eq $seq[$_ - 1][0] ? $seq[$_ - 1][1] + 1 : 0) } 1 .. $#seq;
   is $bad, 0, "stamp_ord: one counter for texts and objects";
   my $repeats = grep { $seq[$_][1] } 0 .. $#seq;
   diag "stamps that repeated: $repeats of " . @seq if $ENV{AEF_VERBOSE};

   # through a client, as requests are sent: a numeric recipient stays a
   # number, as the coder writes it; content JSON cannot hold croaks
   my $spawn = ipcm_spawn (protocol => 'ConnectionUnix');
   my $c = $spawn->connect ('q');
   $text = '';
   $c->_quick_text ($text, 0, $c->{_json}, 5, 1);
   like $text, qr/^\{"from":"q","to":5,/, "a numeric recipient";
   ok !eval { $c->_quick_text ($text, 0, $c->{_json}, "you", sub {}); 1 }, "content JSON cannot hold";
   like $@, qr/encountered CODE\(0x[0-9a-f]+\), but JSON can only represent references to arrays or hashes/, "its error";

   # the errors
   ok !eval { IPC::Manager::Core::msg_put ("ro", 0, '1', '2', '3'); 1 }, "a read-only buffer";
   like $@, qr/^IPC::Manager::Core::msg_put: read-only buffer at /, "its error";
   my $big = "1" x (256 * 1024 * 1024);
   $buf = "kept";
   ok !eval { IPC::Manager::Core::msg_put ($buf, 1, '1', '2', $big); 1 }, "a frame over 256 MiB";
   like $@, qr/^frame too large at /, "its error";
   $big .= "1";
   ok !eval { IPC::Manager::Core::msg_put ($buf, 1, '1', '2', $big); 1 }, "content alone over 256 MiB";
   like $@, qr/^frame too large at /, "its error";
   is $buf, "kept", "the buffer unchanged";
   undef $big;
   $c->disconnect;
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
