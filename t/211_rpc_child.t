# The backends against a hand-written parent (the RPC framing, the child's
# prologue, the STDIN/STDOUT rule and the child-side error texts described
# in AnyEvent::Fork::RPC, ::Sync and ::Async): a
# fresh perl runs AnyEvent::Fork::RPC::Sync::run or ::Async::run on a
# socketpair exactly as Serve's "r" command would call it. Checked: the
# response and event bytes, $0, the STDIN/STDOUT rule, the 1.x handshake,
# exit status and the child-side error texts.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use AEFHelp;

use Test::More;

use Fcntl ();
use Socket;
use POSIX ();

my $STRING = '(sub { pack "(w/a*)*", @_ }, sub { unpack "(w/a*)*", shift })';

my $CHILD = q{
   $SIG{PIPE} = "IGNORE";
   my ($backend, $fd, @args) = @ARGV;
   require "AnyEvent/Fork/RPC/$backend.pm";
   $0 = "4242 AnyEvent::Fork::RPC::${backend}::run";
   sub echo  { AnyEvent::Fork::RPC::event ("evt", "x") if $_[0] eq "evt"; @_ }
   sub aecho { my $d = shift; AnyEvent::Fork::RPC::event ("evt", "x") if $_[0] eq "evt"; $d->(@_) }
   sub name  { $0 }
   sub aname { $_[0]->($0) }
   sub init  { our @init = @_ }
   sub args  { our @init }
   sub aargs { $_[0]->(our @init) }
   open my $fh, "+<&=", $fd or die "fd $fd: $!";
   &{"AnyEvent::Fork::RPC::${backend}::run"} ($fh, @args);
};

# ($pid, $parent_end, $stderr) of a child running BACKEND::run; $fd: the
# descriptor the socket gets in the child (0: also on 1, the remote rule)
sub child {
   my ($backend, $fd, @args) = @_;
   socketpair my $p, my $c, AF_UNIX, SOCK_STREAM, 0 or die "socketpair: $!";
   pipe my $er, my $ew or die "pipe: $!";
   my $pid = fork;
   die "fork: $!" unless defined $pid;
   unless ($pid) {
      eval {
         close $p;
         open STDERR, ">&", $ew or die;
         POSIX::dup2 (fileno $c, $fd) // die "dup2: $!";
         POSIX::dup2 (fileno $c, 1) // die "dup2: $!" unless $fd;
         fcntl $c, Fcntl::F_SETFD (), 0 if fileno $c == $fd; # dup2 to itself keeps close-on-exec
         exec $^X, (map "-I$_", grep !ref, @INC), "-e", $CHILD, $backend, $fd, @args;
      };
      POSIX::_exit (99);
   }
   close $c;
   close $ew;
   ($pid, $p, $er)
}

sub handshake {
   my ($function, @more) = @_;
   (function => $function, init => "", serialiser => $STRING, done => "", rlen => 496, @more, -10 - @more)
}

sub put  { my ($p, $bytes) = @_; syswrite $p, $bytes or die "write: $!" }
sub get  { my ($p, $n) = @_; my $buf = ""; while (length $buf < $n) { sysread $p, $buf, $n - length $buf, length $buf or last } $buf }
sub reap { my ($pid) = @_; waitpid $pid, 0; $? >> 8 }

for my $fd (3, 0) {
   my $rule = $fd ? "socket on fd 3" : "socket on STDIN/STDOUT";

   # Sync: "N/a*" in, "NN/a*" out with id 1, events with id 0
   my ($pid, $p, $err) = child ("Sync", $fd, handshake ("echo"));
   put $p, "\0\0\0\5\1a\2bc";
   is hexs (get ($p, 13)), hexs ("\0\0\0\1\0\0\0\5\1a\2bc"), "sync ($rule): response 00000001 00000005 0161026263";
   put $p, "\0\0\0\4\3evt";
   is hexs (get ($p, 26)), hexs ("\0\0\0\0\0\0\0\6\3evt\1x" . "\0\0\0\1\0\0\0\4\3evt"), "sync ($rule): event 00000000 00000006 03657674 0178, then the response";
   shutdown $p, 1;
   is get ($p, 1), "", "sync ($rule): end-of-file after ours";
   is reap ($pid), 0, "sync ($rule): exit status 0";
   is slurp ($err), "", "sync ($rule): nothing on STDERR";

   # Async: "NN/a*" in and out, the id echoed
   ($pid, $p, $err) = child ("Async", $fd, handshake ("aecho"));
   put $p, "\0\0\0\7\0\0\0\1\0" . "\0\0\0\x09\0\0\0\4\3evt";
   is hexs (get ($p, 9 + 26)), hexs ("\0\0\0\7\0\0\0\1\0" . "\0\0\0\0\0\0\0\6\3evt\1x" . "\0\0\0\x09\0\0\0\4\3evt"),
      "async ($rule): responses carry the request ids, the event comes first";
   shutdown $p, 1;
   is get ($p, 1), "", "async ($rule): end-of-file after ours";
   is reap ($pid), 0, "async ($rule): exit status 0";
   is slurp ($err), "", "async ($rule): nothing on STDERR";
}

# $0 becomes "OWNER FUNCTION"; init gets the user's arguments
for my $backend ("Sync", "Async") {
   my $a = $backend eq "Async" ? "a" : "";
   my ($pid, $p) = child ($backend, 3, "u1", "u2", handshake ("${a}name", init => "init"));
   put $p, $a ? "\0\0\0\1\0\0\0\0" : "\0\0\0\0";
   my $name = "4242 ${a}name";
   is get ($p, 9 + length $name), ($a ? "\0\0\0\1" : "\0\0\0\1") . pack ("N/a*", pack "w/a*", $name), "$backend: \$0 is '$name'";
   shutdown $p, 1;
   reap $pid;

   ($pid, $p) = child ($backend, 3, "u1", "", "u3", handshake ("${a}args", init => "init"));
   put $p, $a ? "\0\0\0\1\0\0\0\0" : "\0\0\0\0";
   is get ($p, 8 + 7), "\0\0\0\1\0\0\0\7\2u1\0\2u3", "$backend: init received the user's arguments";
   shutdown $p, 1;
   reap $pid;

   # the handshake of RPC 1.2 - 1.24: four positional values
   ($pid, $p) = child ($backend, 3, "u1", "${a}args", "init", $STRING, "");
   put $p, $a ? "\0\0\0\1\0\0\0\0" : "\0\0\0\0";
   is get ($p, 8 + 3), "\0\0\0\1\0\0\0\3\2u1", "$backend: the 1.x handshake";
   shutdown $p, 1;
   is reap ($pid), 0, "$backend: 1.x: exit status 0";
}

# malformed requests: as perl's unpack has them; one it rejects kills Sync
{
   my ($pid, $p, $err) = child ("Sync", 3, handshake ("echo"));
   put $p, "\0\0\0\3\5ab";
   is hexs (get ($p, 11)), hexs ("\0\0\0\1\0\0\0\3\2ab"), "sync: a length past the end: the short string, like unpack";
   put $p, "\0\0\0\2\1a\0\0\0\1\x81";
   is hexs (get ($p, 100)), hexs ("\0\0\0\1\0\0\0\2\1a"), "sync: an unterminated length: the response before it, then end-of-file";
   isnt reap ($pid), 0, "sync: ... the worker died";
   like slurp ($err), qr/^Unterminated compressed integer in unpack at /, "sync: with perl's unpack error";

   ($pid, $p, $err) = child ("Async", 3, handshake ("aecho"));
   put $p, "\0\0\0\5\0\0\0\3\5ab";
   is hexs (get ($p, 11)), hexs ("\0\0\0\5\0\0\0\3\2ab"), "async: a length past the end: the short string, like unpack";
   shutdown $p, 1;
   is reap ($pid), 0, "async: exit status 0";
}

# the parent goes away while a response is due: write errors
{
   my ($pid, $p, $err) = child ("Sync", 3, handshake ("echo"));
   put $p, "\0\0\0\1\0";
   shutdown $p, 0; # we read no more: the child's write fails
   # (die exits with $! when it is set, as the original's die after syswrite)
   is reap ($pid), POSIX::EPIPE (), "sync: write error: dies";
   like slurp ($err), qr/^AnyEvent::Fork::RPC::Sync: write error \(Broken pipe\), parent gone\? at /,
      "sync: AnyEvent::Fork::RPC::Sync: write error (\$!), parent gone?";

   ($pid, $p, $err) = child ("Async", 3, handshake ("aecho"));
   put $p, "\0\0\0\1\0\0\0\1\0";
   shutdown $p, 0;
   is reap ($pid), 1, "async: write error: fatal, exit status 1";
   like slurp ($err), qr/ fatal AnyEvent::Fork::RPC::Async: AnyEvent::Fork::RPC: write error \(Broken pipe\), parent gone\?$/m,
      "async: AnyEvent::Fork::RPC: write error (\$!), parent gone?";
}

# a read error in the child: its last output is still unread when we close
{
   my ($pid, $p, $err) = child ("Async", 3, handshake ("aecho"));
   put $p, "\0\0\0\1\0\0\0\1\0";
   my $rin = ""; vec ($rin, fileno $p, 1) = 1;
   select my $rout = $rin, undef, undef, undef; # its response is there
   close $p;
   is reap ($pid), 1, "async: read error: fatal, exit status 1";
   like slurp ($err), qr/ fatal AnyEvent::Fork::RPC::Async: AnyEvent::Fork::RPC: read error in child: Connection reset by peer$/m,
      "async: AnyEvent::Fork::RPC: read error in child: \$!";

   ($pid, $p, $err) = child ("Sync", 3, handshake ("echo"));
   put $p, "\0\0\0\1\0";
   select $rout = $rin, undef, undef, undef;
   close $p;
   is reap ($pid), 0, "sync: a read error ends it like end-of-file";
   is slurp ($err), "", "sync: quietly";
}

done_testing;
