use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use Cpanel::JSON::XS ();
use Socket qw(AF_UNIX SOCK_STREAM pack_sockaddr_un);
use IPCMScenarios qw(wait_for);
use IPC::Manager qw(ipcm_service ipcm_spawn ipcm_default_protocol);
use IPC::Manager::Core ();

# the short cuts of requests and responses: simple content written as JSON
# in C, a ConnectionUnix request sent straight away, a batch of frames
# decoded in one pass (and each on its own when one of them is not a
# message)

my $json = Cpanel::JSON::XS->new->ascii->convert_blessed->allow_nonref;

# the content's text as msg_put writes simple data (undef, the buffer
# unchanged, when it is not)
sub simple {
   my $buf = "before";
   my $id = IPC::Manager::Core::msg_put ($buf, 0, '1', '2', $_[0], 1);
   if (!defined $id) {
      is $buf, "before", "the buffer unchanged";
      return undef;
   }
   return ($buf =~ /^before\{"from":1,"to":2,"content":(.*),"stamp":\d+\.\d{6},"stamp_ord":\d+,"id":"\Q$id\E"\}\z/s)[0];
}

# simple content: the coder's text (but for the order of keys)
{
   my $n = 5;
   my $s = "x";
   my @simple = (
      undef, "", "ping", "q\"b\\s/\x00\x01\x08\x0c\n\r\t\x1f\x7f", 0, -42, 18446744073709551615, $n, $s,
      {}, [], { ipcm_request_id => "R", request => "ping" }, [1, undef, "two", [3, { four => [] }]],
      { "k\"ey\n" => { "" => [] } }, ("a\"b\x01" x 200), { ("k\n" x 100) => ("\t" x 300) },
   );
   for my $d (@simple) {
      my $t = simple ($d);
      my $what = $json->encode ($d);
      ok defined $t, "simple: $what" or next;
      is_deeply $json->decode ($t), $d, "simple: $what: decodes to the same";
      is $t, $what, "simple: $what: the coder's text" unless ref $d eq 'HASH' && keys %$d > 1;
   }
   my ($iv, $pv) = (5, "6");
   my $used = "$iv";    # an integer used as a string
   my $num = $pv + 0;   # a string used as a number
   tie my %tied, 'Tie::StdHash';
   require Tie::Hash;
   my $deep = 1;
   $deep = [$deep] for 1 .. 9;
   my @other = (
      [1.5, "a float"], ["\x{e9}", "a character above ASCII"], ["\x{263a}", "a wide character"],
      [\1, "a scalar reference"], [sub { }, "code"], [bless ({}, 'Foo'), "an object"],
      [\%tied, "a tied hash"], [$deep, "nested 9 deep"], [{ "\x{e9}" => 1 }, "a key above ASCII"],
      [[1, 2.5], "a float inside"],
   );
   for my $case (@other) {
      my ($d, $what) = @$case;
      is simple ($d), undef, "not simple: $what";
   }
   my $ok = 1;
   $ok = [$ok] for 1 .. 8;
   is simple ($ok), "[" x 8 . "1" . "]" x 8, "nested 8 deep is simple";
   # a number used as a string, and the other way round: left to the coder
   # where perl marks them as both, else written as the coder writes them
   for my $case ([$iv, "an integer used as a string"], [$pv, "a string used as a number"]) {
      my ($d, $what) = @$case;
      my $t = simple ($d);
      ok !defined $t || $t eq $json->encode ($d), "$what: " . (defined $t ? $t : "not simple");
   }
}

# a request's content written without its hash: as the coder writes
# {ipcm_request_id => ID, request => REQ}; and a response's (mode 3),
# {ipcm_response_id => ID, response => VALUE}
for my $kind ([2, "request"], [3, "response"]) {
   my ($mode, $what) = @$kind;
   for my $req (undef, "ping", 42, [1, "two"], { a => { b => [] } }) {
      my $buf = "x";
      my $id = IPC::Manager::Core::msg_put ($buf, 0, '1', '2', $req, $mode, "RID");
      my ($content) = $buf =~ /^x\{"from":1,"to":2,"content":(.*),"stamp":/s;
      is_deeply $json->decode ($content), { "ipcm_${what}_id" => "RID", $what => $req },
         "a $what's content: " . $json->encode ($req);
      like $content, qr/^\{"ipcm_${what}_id":"RID","$what":/, "the id first";
   }
   for my $case ([1.5, "RID"], ["\x{263a}", "RID"], ["ping", "\x{e9}"], ["ping", { id => 1.5 }]) {
      my $buf = "x";
      is IPC::Manager::Core::msg_put ($buf, 1, '1', '2', $case->[0], $mode, $case->[1]), undef,
         "a $what that is not simple: left to the coder";
      is $buf, "x", "the buffer unchanged";
   }
}

# file_ino: stat's inode number alone
{
   is IPC::Manager::Core::file_ino ($0), (stat $0)[1], "file_ino: the inode number";
   $! = 0;
   is IPC::Manager::Core::file_ino ("$0.missing"), 0, "file_ino: none";
   ok $!{ENOENT}, "file_ino: with \$!";
}

ipcm_default_protocol ('ConnectionUnix');

# requests larger than the socket takes at once: sent in part straight
# away, the rest waited for; responses of content that is not simple
{
   my $h = ipcm_service (echo => (handle_request => sub { $_[1]{request} }));
   my @big = map { ("$_" x 300_000) } 1 .. 4;
   my @ids = map $h->send_request (echo => $_), @big;
   my @got = map $h->await_response ($_, 30)->{response}, @ids;
   is_deeply [map length, @got], [map length, @big], "large requests, answered whole";
   ok !(grep $got[$_] ne $big[$_], 0 .. $#big), "and in order";
   my $r = $h->sync_request (echo => { f => 1.5, s => "\x{263a}", l => [undef, 2] }, 30);
   is_deeply $r->{response}, { f => 1.5, s => "\x{263a}", l => [undef, 2] }, "content the coder writes";
}

# a batch from a known peer holding frames that are not messages: the
# messages arrive in order, the rest is reported
{
   my $spawn = ipcm_spawn (protocol => 'ConnectionUnix');
   my $b = $spawn->connect ('b');
   socket (my $s, AF_UNIX, SOCK_STREAM, 0) or die $!;
   connect ($s, pack_sockaddr_un ($b->path)) or die $!;
   syswrite $s, pack ("N/a*", '{"hello":"raw"}');
   ok wait_for { $b->get_messages; $b->{_by_peer}{raw} }, "the peer is known";
   my $msg = sub { pack "N/a*", $json->encode ({ from => 'raw', to => 'b', content => $_[0] }) };
   my @warn;
   local $SIG{__WARN__} = sub { push @warn, $_[0] };
   syswrite $s, $msg->("one") . pack ("N/a*", "{bad") . pack ("N/a*", '{"hello":"raw"}') . $msg->("two")
               . pack ("N/a*", '["not a message"]') . $msg->("three");
   my @got;
   ok wait_for { push @got, $b->get_messages; @got >= 3 }, "the messages of the batch";
   is_deeply [map $_->content, @got], ["one", "two", "three"], "in order";
   is scalar (@warn), 2, "the frames that are not messages reported" or diag explain \@warn;
   like $warn[0], qr/^ConnectionUnix: malformed frame from 'raw': /, "malformed JSON";
   like $warn[1], qr/^ConnectionUnix: malformed frame from 'raw': not a message envelope/, "not an envelope";
   close $s;
   $b->disconnect;
}

done_testing;
