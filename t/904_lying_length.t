# Regressions: an RPC frame header that announces far more than is sent
# (up to 4 GiB - 1), followed by end-of-file, costs the reader only the
# octets that really came - in the parent, in a Sync worker and in an
# Async worker - and the parent lets go of them as soon as the connection
# ends. The reader used to reserve the announced length at once (a VmPeak
# of 4 GiB for eight octets) and to keep a partial frame's buffer after
# on_error until the RPC object went away.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;
use Test::More;
use AEFHelp;

use AnyEvent;
use AnyEvent::Fork;
use AnyEvent::Fork::RPC;

plan skip_all => "needs /proc/self/status"
   unless open my $probe, "<", "/proc/self/status";

# VmPeak, VmRSS of this process (KiB)
sub vm {
   open my $fh, "<", "/proc/self/status" or die "/proc/self/status: $!";
   my %s = map { /^(Vm\w+):\s+(\d+)/ ? ($1, $2) : () } <$fh>;
   @s{qw(VmPeak VmRSS)}
}

my $MIB = 1024;  # KiB

# the parent: a child that answers the first request with a header that
# announces 4 GiB - 1 octets, sends 64 MiB of them and exits
{
   my ($peak0, $rss0) = vm;
   my ($peak1, $rss1, $err);
   my $cv = AE::cv;

   my $rpc = AnyEvent::Fork->new->eval (<<'CODE')
      $INC{"AnyEvent/Fork/RPC/Sync.pm"} = __FILE__;
      $AnyEvent::Fork::RPC::Sync::VERSION = 2;
      sub AnyEvent::Fork::RPC::Sync::run {
         my $fh = shift;
         sysread $fh, my $request, 65536;
         syswrite $fh, "\0\0\0\1\xff\xff\xff\xff";
         my $mib = "x" x 1048576;
         for (1 .. 64) {
            my $off = 0;
            $off += syswrite $fh, $mib, length ($mib) - $off, $off while $off < length $mib;
         }
         exit 0;
      }
CODE
      ->AnyEvent::Fork::RPC::run ("f", on_error => sub {
           $err = shift;
           ($peak1, $rss1) = vm;
           $cv->send;
        });

   $rpc->(1, sub { $err = "a result arrived"; $cv->send });
   $cv->recv;

   is ($err, "unexpected eof", "parent: the lie ends in on_error (unexpected eof)");
   cmp_ok ($peak1 - $peak0, "<", 512 * $MIB,
      "parent: VmPeak grew by @{[ int (($peak1 - $peak0) / $MIB) ]} MiB for 64 MiB received (the header announced 4 GiB)");
   cmp_ok ($rss1 - $rss0, "<", 32 * $MIB,
      "parent: the 64 MiB are released by the time on_error runs (RSS +@{[ int (($rss1 - $rss0) / $MIB) ]} MiB)");
}

# a worker, fed a lying request header plus 1 MiB, then end-of-file;
# it reports its VmPeak before it read anything and when it is done
sub worker {
   my ($backend, $header) = @_;

   pipe my $r, my $w or die "pipe: $!";
   my $cv = AE::cv;

   AnyEvent::Fork->new->eval (<<'CODE')
      my $out;
      sub peak {
         open my $fh, "<", "/proc/self/status" or die;
         (map { /^VmPeak:\s+(\d+)/ ? $1 : () } <$fh>)[0]
      }
      sub init { $out = shift; syswrite $out, "before " . peak () . "\n" }
      sub f { }
      sub report { syswrite $out, "after " . peak () . "\n" if $out; undef $out }
      sub done { report (); exit 0 }   # Async: the end of its loop
      END { report () }                # Sync: it exits after its loop
CODE
      ->send_fh ($w)
      ->send_arg (function => "f", init => "init", serialiser => $AnyEvent::Fork::RPC::STRING_SERIALISER,
                  done => "done", rlen => 496, -10)
      ->require ("AnyEvent::Fork::RPC::$backend")
      ->run ("AnyEvent::Fork::RPC::${backend}::run", $cv);

   # written from the event loop: the fork itself may still be under way
   my $fh = $cv->recv;
   undef $w;
   my ($data, $off) = ($header . ("y" x 1048576), 0);
   my $sent = AE::cv;
   set_blocking ($fh, 0);
   my $ww = AE::io $fh, 1, sub {
      my $n = syswrite $fh, $data, 65536, $off;
      $off += $n if $n;
      $sent->send if $off >= length $data || !defined $n && !$!{EAGAIN} && !$!{EINTR};
   };
   $sent->recv;
   undef $ww;
   shutdown $fh, 1; # end-of-file (the socket stays open until the worker is done)
   my $report = slurp ($r);
   my ($before) = $report =~ /^before (\d+)$/m;
   my ($after)  = $report =~ /^after (\d+)$/m;

   ok (defined $before && defined $after, "$backend worker: reports its VmPeak before and after")
      or diag $report;
   cmp_ok (($after || 0) - ($before || 0), "<", 64 * $MIB,
      "$backend worker: VmPeak grew by @{[ int ((($after || 0) - ($before || 0)) / $MIB) ]} MiB for 1 MiB received (4 GiB announced)");
}

worker (Sync  => "\xff\xff\xff\xff");
worker (Async => "\0\0\0\1\xff\xff\xff\xff");

done_testing;
