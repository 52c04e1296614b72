# AnyEvent::Task: the wire, byte for byte, with hand-written peers on each
# side; malformed and oversized frames from either side
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 90;
use AETask;
use Callback::Frame;
use AEFHelp qw(wait_until read_exactly set_blocking);
use JSON::XS ();
use POSIX ();
use Socket ();
use Test::More;

my $json = JSON::XS->new->utf8;
my $dir = File::Temp->newdir;

# --- a hand-written server (blocking, no event loop), forked before any watcher
my $rawpath = sock_path ();
socket my $lsock, Socket::AF_UNIX (), Socket::SOCK_STREAM (), 0 or die;
bind $lsock, Socket::pack_sockaddr_un ($rawpath) or die "bind: $!";
listen $lsock, 16 or die;
my $rawpid = fork;
die unless defined $rawpid;
if (!$rawpid) {
   while (accept my $c, $lsock) {
      next if fork;                 # one process per connection, like a worker
      my $split = AnyEvent::Task::Split->new;
      my $last = "";
      while (1) {
         my $m = $split->next;
         if (!defined $m) {
            my $n = $split->fill ($c);
            POSIX::_exit (0) unless $n;
            next;
         }
         my $req = $json->decode ($m);
         my $what = $req->[2];
         my $out;
         if ($req->[0] eq 'dn') { $last = $m; next }
         $what = 'bytes' unless defined $what && $what =~ /^[a-z]+\z/;
         if ($what eq 'bytes') { $out = $json->encode (['ok', {}, $m]) }
         elsif ($what eq 'lastdn') { $out = $json->encode (['ok', {}, $last]) }
         elsif ($what eq 'split') {
            syswrite $c, $_ for split //, qq{ ["ok",{},"split"]\n};
            next;
         }
         elsif ($what eq 'unicode') { $out = q{["ok",{},"\ud834\udfda\u00e9"]} }
         elsif ($what eq 'malformed') { $out = q{["ok",{},]} }
         elsif ($what eq 'notarray') { $out = q{{"ok":1}} }
         elsif ($what eq 'badkind') { $out = q{["zz",{},1]} }
         elsif ($what eq 'oversized') { $out = q{["ok",{},"} . ("x" x (2 * 1024 * 1024)) }
         elsif ($what eq 'unasked') { $out = q{["ok",{},1]["ok",{},2]} }
         $last = $m;
         defined syswrite $c, $out or POSIX::_exit (0);
      }
   }
   POSIX::_exit (0);
}
close $lsock;

# --- our server
my $path = server (
   interface => {
      add   => sub { $_[0] + $_[1] },
      fail  => sub { die { code => 42 } },
      echo  => sub { $_[0] },
      noisy => sub { logger_line (); 1 },
   },
);
sub logger_line {
   require AnyEvent::Task::Logger;
   AnyEvent::Task::Logger::logger ()->info ("working");
}

sub raw_client {
   socket my $s, Socket::AF_UNIX (), Socket::SOCK_STREAM (), 0 or die;
   connect $s, Socket::pack_sockaddr_un ($path) or die "connect: $!";
   $s
}

sub rd {
   my ($s, $n) = @_;
   read_exactly ($s, $n)
}

# A raw client against our server
{
   my $s = raw_client ();
   syswrite $s, q{["do",{},"add",2,3]};
   is (rd ($s, 11), q{["ok",{},5]}, "add: exact reply bytes");
   syswrite $s, q{["do",{},"nosuch"]};
   my $want = q{["er",{},"Can't use an undefined value as a subroutine reference at };
   is (rd ($s, length $want), $want, "unknown method: perl's error text");
   my $rest = "";
   $rest .= rd ($s, 1) until $rest =~ /\\n"\]\z/ || length $rest > 300;
   like ($rest, qr/^\S+ line \d+\.\\n"\]\z/, "with perl's location suffix");
   syswrite $s, q{["do",{},"fail"]};
   is (rd ($s, 21), q{["er",{},{"code":42}]}, "a reference error as data");
   syswrite $s, q{["do",{},"add",1,1]  ["do",{"x":1},"add",2,2]} . "\n";
   is (rd ($s, 22), q{["ok",{},2]["ok",{},4]}, "pipelined, whitespace between, extra META keys ignored");
   syswrite $s, q{["dn",{}]["do",{},"echo","\ud834\udfda"]};
   is (rd ($s, 16), qq{["ok",{},"\xf0\x9d\x8f\x9a"]}, "dn gets no reply; \\u escapes with surrogates decoded, raw UTF-8 sent");
   syswrite $s, q{["do",{},"noisy"]};
   my $r = "";
   $r .= rd ($s, 1) until $r =~ /\},1\]\z/;
   like ($r, qr/^\["ok",\{"ld":\{.*"logs":\[\[[\d.e-]+,30,"working"\]\]/, "ld metadata");
   syswrite $s, q{["zz",{}]};
   is (rd ($s, 1), "", "an unknown command: the worker closes the connection");
}
for my $bad (q(["do",{},x), q{{"do":1}}, "[\"do\",{},\"\xff\xfe\"]", q{[]}, q{"do"}) {
   my $s = raw_client ();
   syswrite $s, $bad;
   shutdown $s, 1 if $bad =~ /x\z/;
   is (rd ($s, 1), "", "malformed request " . (length $bad < 20 ? $bad : "") . ": connection closed, nothing sent");
}
{
   my $s = raw_client ();
   local $SIG{PIPE} = 'IGNORE';
   my $chunk = "x" x 65536;
   syswrite $s, q{["do",{},"};
   my $sent = 0;
   while ($sent < 70 * 1024 * 1024) {
      my $n = syswrite $s, $chunk;
      last unless $n;
      $sent += $n;
   }
   cmp_ok ($sent, '<', 70 * 1024 * 1024, "an oversized request: the worker stops reading (closes)");
}

# Our client against the hand-written server (with a smaller bound, so
# that an oversized reply is cheap to send)
$AnyEvent::Task::Client::MESSAGE_MAX = 1024 * 1024;
my $client = AnyEvent::Task::Client->new (connect => ['unix/', $rawpath]);
{
   my $co = $client->checkout;
   is (call ($co, 'bytes', 2, "x", [1]), q{["do",{},"bytes",2,"x",[1]]}, "method form bytes");
   is (call ($co, undef, 1, { a => undef }), q{["do",{},1,{"a":null}]}, "coderef form bytes");
   # calls made in one go behind an unanswered one (written by the C part)
   my (@got, $cv) = ();
   $cv = AE::cv;
   for my $args (['bytes', 1, { a => undef }], ['bytes'], [], ['bytes', "\x{e9}", [1.5, "x"]]) {
      $cv->begin;
      $co->(@$args, sub { push @got, $_[1]; $cv->end });
   }
   $cv->recv;
   is_deeply (\@got, [q{["do",{},"bytes",1,{"a":null}]}, q{["do",{},"bytes"]}, q{["do",{}]}, qq{["do",{},"bytes","\xc3\xa9",[1.5,"x"]]}],
      "coderef form bytes of calls made in one go");
   is (call ($co, 'split'), "split", "a reply split into single bytes, surrounded by whitespace");
   is (call ($co, 'unicode'), "\x{1D3DA}\x{e9}", "\\u escapes in a reply");
   undef $co;
   $co = $client->checkout;
   my $b = call ($co, 'lastdn');
   ok ($b eq q{["dn",{}]} || $b =~ /"lastdn"/, "release writes [\"dn\",{}]");
}
{
   # two calls on one connection prove the dn
   my $one = AnyEvent::Task::Client->new (connect => ['unix/', $rawpath], max_workers => 1);
   call ($one->checkout, 'bytes');
   is (call ($one->checkout, 'lastdn'), q{["dn",{}]}, "release writes exactly [\"dn\",{}]");
}
{
   my $co = $client->checkout (timeout => 30);
   is (call ($co, 'unasked'), 1, "a reply nobody asked for: the first reply is delivered");
   my ($ok, $e) = call_err ($co, 'bytes');
   like ($e, qr/^worker connection suddenly died at /, "the extra one breaks the connection");
}
for my $bad (qw(malformed notarray oversized)) {
   my ($ok, $e) = call_err ($client->checkout (timeout => 30), $bad);
   like ($e, qr/^worker connection suddenly died at /, "$bad reply: connection error");
}
{
   # EV warns about the error, the pure-Perl loop lets it out of recv
   my @caught;
   my $cv = AE::cv;
   local $SIG{__WARN__} = sub { push @caught, @_; $cv->send };
   my $co = $client->checkout (timeout => 30);
   $co->badkind (sub { $cv->send ("called") });
   eval { $cv->recv };
   push @caught, $@ if $@;
   like ("@caught", qr/Unrecognized response_code: zz at /, "an unknown reply kind raises in the event loop");
}

kill KILL => $rawpid;
done_testing;
