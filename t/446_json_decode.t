use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;
use Test::More;
use B ();
use Scalar::Util qw(blessed refaddr reftype);
use Cpanel::JSON::XS ();
use Socket ();
use IPC::Manager qw(ipcm_service ipcm_spawn ipcm_default_protocol);
use IPC::Manager::Core ();
use IPC::Manager::Message ();

# the C decoder of simple JSON messages (c/aef_svc_json.c and its glue):
# whatever it decodes must come out exactly as the default serializer's
# coder decodes it (values, the string/number flags, the UTF-8 flags,
# booleans), and everything else must be left to the coder

my $json = Cpanel::JSON::XS->new->ascii->convert_blessed->allow_nonref;

# a value (given by reference) as text, with what a caller can see of it
sub desc {
   my ($ref) = @_;
   my $v = $$ref;
   return "undef" unless defined $v;
   if (ref $v) {
      return "obj:" . ref ($v) . ":" . refaddr ($v) if blessed $v;
      return "[" . join (",", map desc (\$v->[$_]), 0 .. $#$v) . "]" if reftype $v eq 'ARRAY';
      return "{" . join (",", map { (utf8::is_utf8 ($_) ? "u:" : "b:") . sprintf ("%vd", $_) . "=" . desc (\$v->{$_}) }
                              sort keys %$v) . "}" if reftype $v eq 'HASH';
      return "ref:" . ref $v;
   }
   my $f = B::svref_2object ($ref)->FLAGS;
   my $d = join "", ($f & B::SVf_IOK () ? "i" : ""), ($f & B::SVf_NOK () ? "n" : ""), ($f & B::SVf_POK () ? "p" : ""),
                    (utf8::is_utf8 ($v) ? "u" : "");
   $d .= ":" . unpack ("H*", pack "d", $v) if $f & B::SVf_NOK ();
   $d .= ":" . sprintf ("%vd", $v) if $f & (B::SVf_POK () | B::SVf_IOK ());
   return $d;
}

# decodes $text both ways: '' when they agree (or the C decoder declined
# it), else what differs; counts what the C decoder took
my ($taken, $declined) = (0, 0);
sub compare {
   my ($text) = @_;
   my @mine = IPC::Manager::Core::json_decode ($text);
   if (!@mine) { $declined++; return '' }
   $taken++;
   my $theirs = eval { $json->decode ($text) };
   return "taken by the C decoder, refused by the coder ($@): $text" if $@;
   my ($a, $b) = (desc (\$mine[0]), desc (\$theirs));
   return $a eq $b ? '' : "differs: $text\n  C:     $a\n  coder: $b";
}

# typical and edge cases
{
   my @taken = (
      'null', 'true', 'false', '0', '7', '-7', '123456789012345678', '-123456789012345678', '0.5', '-1.25',
      '1733527200.123456', '1234567890123456789012.5', '0.1', '3.14159265358979323846', '123456789012345678.9', '"x"', '""',
      '"q\\"b\\\\s\\/\\b\\f\\n\\r\\t"', '"\\u0000\\u001f\\u007f"', '"\\u00e9"', '"\\u20ac"', '"\\ud83d\\ude00"',
      '"\\u0041\\u00ff"', '[]', '{}', ' [ 1 , "a" , null ] ', "\t{\"a\"\n:\r1}", '[[[[]]]]',
      '{"\\u00e9":1}', '{"\\u263a":"\\u263a"}', '{"a\\nb":{"":[true,false,null]}}',
      '{"from":"a","to":"b","content":{"ipcm_request_id":"X","request":"ping1"},"stamp":1733527200.000001,"stamp_ord":3,"id":"U"}',
   );
   for my $t (@taken) {
      my @mine = IPC::Manager::Core::json_decode ($t);
      ok scalar (@mine), "taken: $t";
      is compare ($t), '', "as the coder: $t";
   }
   my @declined = (
      '', ' ', '1e3', '1E3', '1.5e-3', '-0', '-0.0', '-0.5', '01', '1.', '.5', '+1', '1234567890123456789',
      '-1234567890123456789', '18446744073709551616', '"\\ud800"', '"\\udc00x"', '"\\ud800\\u0041"',
      '"\\x41"', "\"\x{e9}\"", "\"\xc3\xa9\"", "\"a\tb\"", "\"a\x00b\"", '[1,]', '{"a":1,}', '{"a":1,"a":2}',
      '[1] 2', 'nul', 'NaN', 'Infinity', '"abc', "{'a':1}", '{a:1}', ('[' x 33) . (']' x 33),
      ('1' x 30) . '.' . ('1' x 11),
   );
   for my $t (@declined) {
      is scalar (my @m = IPC::Manager::Core::json_decode ($t)), 0, "declined: " . substr ($t, 0, 40);
   }
   my @deep = IPC::Manager::Core::json_decode (('[' x 32) . (']' x 32));
   is scalar (@deep), 1, "32 levels deep: taken";
   # many tokens: more than the first buffer holds
   my $many = '[' . join (",", (1) x 5000) . ']';
   is compare ($many), '', "5000 elements";
   is scalar (my @m = IPC::Manager::Core::json_decode ($many)), 1, "5000 elements: taken";
   my $large = '[' . join (",", ('"abcdefghij"') x 8000) . ']';
   is scalar (@m = IPC::Manager::Core::json_decode ($large)), 0, "over 64 KiB with many tokens: declined";
   is scalar (@m = IPC::Manager::Core::json_decode ('"' . ("a" x 100_000) . '"')), 1, "a long string: taken";
   # a character string: decoded as its UTF-8 bytes would be only when ASCII
   is compare ("\"\\u00e9\x{100}\""), '', "a text with a wide character";
   is scalar (@m = IPC::Manager::Core::json_decode ("\"\x{100}\"")), 0, "a wide character: declined";
}

# random texts: values of random shape, written with random spacing,
# escapes and number forms, some of them then damaged
{
   srand (446);
   my @chars = ("a", "Z", " ", "~", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0000", "\\u001F",
                "\\u00e9", "\\u00FF", "\\u0100", "\\u263a", "\\uFFFF", "\\ud83d\\ude00", "\\uD800\\uDC00", "\\ud800",
                "\\udfff", "\\x", "\x7f", "\x01", "\xe9", "\xc3\xa9", "\\u12");
   my $ws = sub { (" ", "", "", "", "\n", "\t", "\r", "  ")[int rand 8] };
   my $str = sub { '"' . join ("", map $chars[int rand ($_[0] ? 20 : @chars)], 1 .. int rand 6) . '"' };
   my $digits = sub { my $n = shift; join "", map int rand 10, 1 .. $n };
   my $num = sub {
      my $r = rand ();
      my $int = (rand () < 0.2 ? "0" : (1 + int rand 9) . $digits->(int rand 20));
      my $s = (rand () < 0.3 ? "-" : "") . $int;
      $s .= "." . $digits->(1 + int rand 18) if $r < 0.5;
      $s .= (rand () < 0.5 ? "e" : "E") . (rand () < 0.5 ? "-" : "") . (1 + int rand 30) if rand () < 0.1;
      return $s;
   };
   my $val;
   $val = sub {
      my ($d) = @_;
      my $r = rand ();
      return ("null", "true", "false")[int rand 3] if $r < 0.1;
      return $num->() if $r < 0.45;
      return $str->(rand () < 0.5) if $r < 0.7 || $d > 4;
      if ($r < 0.85) {
         my @k = map { $str->(1) } 1 .. int rand 4;
         push @k, $k[0] if @k && rand () < 0.05;
         return "{" . join (",", map { $ws->() . $_ . $ws->() . ":" . $ws->() . $val->($d + 1) . $ws->() } @k) . "}";
      }
      return "[" . join (",", map { $ws->() . $val->($d + 1) . $ws->() } 1 .. int rand 4) . "]";
   };
   my @fail;
   for my $i (1 .. 6000) {
      my $t = $ws->() . $val->(0) . $ws->();
      if ($i % 4 == 0 && length $t) {
         # damaged: a byte removed, replaced or added
         my $at = int rand length $t;
         my $c = substr ("{}[],:\"\\0.-e ax\x80", int rand 17, 1);
         my $how = int rand 3;
         substr ($t, $at, $how == 2 ? 0 : 1) = $how == 0 ? "" : $c;
      }
      my $e = compare ($t);
      push @fail, $e if length $e;
   }
   is_deeply \@fail, [], "random texts: the C decoder agrees with the coder" or diag join "\n", @fail[0 .. 9];
   ok $taken > 2000, "random texts: many taken by the C decoder ($taken)";
   note "random texts: $taken taken, $declined declined";
   ok $declined > 1000, "random texts: many declined ($declined)";
   # and floats of the stamps' shape, with the coder's NV bit for bit
   my @ff;
   for (1 .. 3000) {
      my $t = (1 + int rand 2_000_000_000) . "." . sprintf ("%06d", int rand 1_000_000);
      my $e = compare ($t);
      push @ff, $e if length $e;
   }
   is_deeply \@ff, [], "stamps: the same numbers";
}

# messages: blessed when every field a message needs is there and defined
{
   my %m = (from => "a", to => "b", content => { ipcm_request_id => "R", request => "ping" },
            stamp => 1733527200.5, stamp_ord => 0, id => "U");
   my ($msg) = IPC::Manager::Core::msg_decode ($json->encode (\%m));
   isa_ok $msg, 'IPC::Manager::Message', "a whole message";
   is_deeply {%$msg}, \%m, "with its fields";
   for my $f (sort keys %m) {
      my %less = %m;
      delete $less{$f};
      is scalar (my @r = IPC::Manager::Core::msg_decode ($json->encode (\%less))), 0, "without $f: left to perl";
      $less{$f} = undef;
      is scalar (@r = IPC::Manager::Core::msg_decode ($json->encode (\%less))), 0, "with $f null: left to perl";
   }
   is scalar (my @r = IPC::Manager::Core::msg_decode ('["from","to"]')), 0, "not a hash: left to perl";
   is scalar (@r = IPC::Manager::Core::msg_decode ('{"hello":"x"}')), 0, "a hello: left to perl";

   # frames: decoded only when asked, the others as they came
   my $frame = sub { pack "N/a*", $_[0] };
   my $float = $json->encode ({ %m, f => 1.5e300 });
   my $buf = join "", map $frame->($_), $json->encode (\%m), '{"hello":"x"}', '{bad', $float;
   my @f = IPC::Manager::Core::frames (my $copy = $buf);
   is scalar (grep ref, @f), 0, "frames: bytes unless asked";
   @f = IPC::Manager::Core::frames ($buf, 1);
   is scalar (@f), 4, "frames: all four";
   is $buf, "", "frames: taken from the buffer";
   isa_ok $f[0], 'IPC::Manager::Message', "frames: a message";
   is_deeply [@f[1 .. 3]], ['{"hello":"x"}', '{bad', $float], "frames: the others as bytes";
}

# sorting a batch: left as it is only when the stable sort would leave it
{
   my $perl = sub { sort { $a->{stamp} <=> $b->{stamp} or ($a->{stamp_ord} || 0) <=> ($b->{stamp_ord} || 0) } @_ };
   my @stamps = (1, 2, 1.5, 1733527200.123456, 9007199254740993, 9007199254740992, "2", "1.5", undef, 0);
   my @ords = (0, 1, 2, undef, "1", 1.5);
   my (@fail, $kept, $sorted) = ();
   ($kept, $sorted) = (0, 0);
   for my $i (1 .. 3000) {
      my @m = map { bless { stamp => $stamps[int rand (rand () < 0.9 ? 4 : @stamps)],
                            stamp_ord => $ords[int rand (rand () < 0.9 ? 3 : @ords)], n => $_ }, 'IPC::Manager::Message' }
              1 .. 1 + int rand 5;
      @m = $perl->(@m) if rand () < 0.5;
      my $in_order = IPC::Manager::Core::msgs_in_order (@m);
      $in_order ? $kept++ : $sorted++;
      my @want = do { no warnings; map $_->{n}, $perl->(@m) };
      my @got = do { no warnings; map $_->{n}, IPC::Manager::Message::sort_messages (@m) };
      push @fail, "@want / @got" if "@want" ne "@got";
      push @fail, "said in order: @want" if $in_order && "@want" ne join " ", map $_->{n}, @m;
   }
   is_deeply \@fail, [], "sort_messages: as the sort in perl";
   ok $kept > 500 && $sorted > 500, "both ways taken ($kept kept, $sorted sorted)";
   is IPC::Manager::Core::msgs_in_order (), 1, "no messages: in order";
   is IPC::Manager::Core::msgs_in_order ({ stamp => 1 }, "x"), 0, "not a message: sorted in perl";
}

# UnixSocket and MessageFiles read messages as ConnectionUnix does: the
# simple ones decoded in C, the others by the coder, and what is not a
# message (or not JSON) warned about with each protocol's text
for my $proto (qw(UnixSocket MessageFiles)) {
   my $spawn = ipcm_spawn (protocol => $proto);
   my $to = $spawn->connect ('to');
   my $put = $proto eq 'UnixSocket'
      ? do {
         socket (my $s, Socket::AF_UNIX (), Socket::SOCK_DGRAM (), 0) or die "socket: $!";
         connect ($s, Socket::pack_sockaddr_un ($to->path)) or die "connect: $!";
         sub { send ($s, $_[0], 0) or die "send: $!" };
      }
      : do {
         my $n = 0;
         sub {
            my $f = sprintf "%s/m%04d", $to->path, ++$n;
            open my $fh, ">", "$f.pend" or die "$f: $!";
            print $fh $_[0];
            close $fh or die "$f: $!";
            rename "$f.pend", "$f.ready" or die "$f: $!";
         };
      };
   my %m = (from => "a", to => "to", content => { ipcm_request_id => "R", request => "ping" }, stamp => 1733527200.5,
            stamp_ord => 0, id => "U");
   my @good = (
      [ $json->encode (\%m), 1, "simple" ],
      [ $json->encode ({ %m, stamp => 1733527201.5, content => { f => 1.5e300, s => "\x{263a}" } }), 0, "a float the C decoder declines" ],
      [ $json->encode ({ %m, stamp => 1733527202.5, to => undef, broadcast => 1 }), 0, "a broadcast" ],
      [ $json->encode ({ from => "a", to => "to", content => [1], stamp => 1733527203.5, id => "V" }), 0, "without stamp_ord" ],
   );
   my @bad = (
      [ '{"from":"a","to":"to","content":', qr/^\Q$proto\E: malformed message\b.*: (?:unexpected end of string|malformed JSON string)/ ],
      [ '["from","to"]', qr/^\Q$proto\E: malformed message\b.*: not a message envelope$/ ],
      [ '{"from":"a","to":"to"}', qr/^\Q$proto\E: malformed message\b.*: 'content' is a required attribute at / ],
   );
   $put->($_->[0]) for @good, @bad;
   my @warn;
   my @got = do {
      local $SIG{__WARN__} = sub { push @warn, $_[0] };
      my @all;
      my $deadline = time + 30;
      while (@all < @good && time < $deadline) {
         push @all, $to->get_messages;
         select undef, undef, undef, 0.01 if @all < @good;
      }
      @all;
   };
   is scalar (@got), scalar (@good), "$proto: every message read";
   for my $i (0 .. $#good) {
      my ($text, $simple, $what) = @{ $good[$i] };
      is scalar (my @c = IPC::Manager::Core::msg_decode ($text)), $simple, "$proto: $what: " . ($simple ? "" : "not ") . "decoded in C";
      my $want = IPC::Manager::Message::_received ($json->decode ($text));
      is ref ($got[$i]), 'IPC::Manager::Message', "$proto: $what: a message";
      is desc (\{%{ $got[$i] || {} }}), desc (\{%$want}), "$proto: $what: as the coder decodes it";
   }
   is scalar (@warn), scalar (@bad), "$proto: a warning per malformed message" or diag @warn;
   like $warn[$_], $bad[$_][1], "$proto: warned: $bad[$_][0]" for 0 .. $#bad;
   $to->disconnect;
}

# end to end on each protocol: what the service gets and answers is what
# the coder would have made of it, simple or not (the request's and the
# response's content written in C or, when not simple, by the coder)
for my $proto (qw(ConnectionUnix UnixSocket MessageFiles)) {
   ipcm_default_protocol ($proto);
   my $h = ipcm_service (echo => (handle_request => sub {
      my $r = $_[1]{request};
      return ref $r eq 'HASH' && exists $r->{same} ? $r->{same} : [ $r, desc (\$r) ];
   }));
   my @cases = (
      "ping", "", 0, -5, 123456789012345678, "5", 1.5, 0.1, "\x{e9}", "\x{263a}", "a\nb\"\\", undef,
      [1, "2", 3.25, undef, [{}]], { k => "v", "\x{e9}" => [1], "" => { n => undef } },
      $Cpanel::JSON::XS::true, $Cpanel::JSON::XS::false, { t => $Cpanel::JSON::XS::true }, 1e300, "1e5",
   );
   for my $c (@cases) {
      my $what = $json->encode ($c);
      my $want = $json->decode ($what);
      my $r = $h->sync_request (echo => $c, 30)->{response};
      is desc (\$r->[0]), desc (\$want), "$proto: round trip: $what";
      is $r->[1], desc (\$want), "$proto: as the service saw it: $what";
      # (the answer itself simple or not)
      my $same = $h->sync_request (echo => { same => $c }, 30);
      is desc (\$same->{response}), desc (\$want), "$proto: answered as it is: $what";
   }
   # a request id that is not simple: the request and its answer written by
   # the coder
   my $res = $h->client->send_message (echo => { ipcm_request_id => 1.5, request => "x" });
   my ($answer) = grep { ref $_->{content} eq 'HASH' } $h->client->get_messages;
   my $deadline = time + 30;
   while (!$answer && time < $deadline) {
      select undef, undef, undef, 0.01;
      ($answer) = grep { ref $_->{content} eq 'HASH' } $h->client->get_messages;
   }
   is desc (\($answer && $answer->{content})), desc (\{ ipcm_response_id => 1.5, response => [ "x", "p:120" ] }),
      "$proto: a request id that is not simple, answered by the coder";
}

done_testing;
