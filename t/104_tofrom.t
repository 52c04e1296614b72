# to_fh, new_from_fh and send_fh of process sockets to a third process
# (after the original's t/04_tofrom.t; it forced the Perl model for win32,
# here it runs under whatever model is selected).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use Test::More;

use AnyEvent::Fork;

my $proc = new AnyEvent::Fork; ok ($proc, "proc");
my $to1  = new AnyEvent::Fork; ok ($to1,  "to1");
my $to2  = new AnyEvent::Fork; ok ($to2,  "to2");

$to1->eval ("1");
ok ($to1->[2], "an eval is pending on to1");

my $fh1 = do { $to1->to_fh (my $cv = AE::cv); $cv->recv }; ok ($fh1, "to_fh with a pending eval flushes, then delivers the socket to a condvar");
my $fh2 = do { $to2->to_fh (my $cv = AE::cv); $cv->recv }; ok ($fh2, "to_fh with nothing pending delivers the socket");

is (scalar @$to1, 0, "to1 is emptied by to_fh");
is (scalar @$to2, 0, "to2 is emptied by to_fh");

undef $to1;
undef $to2;

ok ($proc, "proc still there");

use AnyEvent::Util;

ok ((my ($r1, $w1) = AnyEvent::Util::portable_pipe), "pipe 1");
ok ((my ($r2, $w2) = AnyEvent::Util::portable_pipe), "pipe 2");

$proc->send_fh ($fh1); undef $fh1; $proc->send_fh ($w1); undef $w1; ok (1, "send_fh fh1, w1");
$proc->send_fh ($fh2); undef $fh2; $proc->send_fh ($w2); undef $w2; ok (1, "send_fh fh2, w2");

$proc->eval ('
   use AnyEvent;
   use AnyEvent::Fork;

   my $to1 = new_from_fh AnyEvent::Fork $arg[0]; $to1->send_fh ($arg[1]); $to1->eval ($_[0]);
   my $to2 = new_from_fh AnyEvent::Fork $arg[2]; $to2->send_fh ($arg[3]); $to2->eval ($_[1]);

   $to1->to_fh (my $cv1 = AE::cv); $cv1->recv;
   $to2->to_fh (my $cv2 = AE::cv); $cv2->recv;
','
   syswrite $arg[0], "172";
','
   syswrite $arg[0], "174";
');

ok (1, "eval queued");

do { $proc->to_fh (my $cv = AE::cv); $cv->recv };

ok (1, "proc flushed");

undef $proc;

ok (1, "proc dropped");

$r1 = <$r1>;
is ($r1, "172", "the first target wrote its marker");

$r2 = <$r2>;
is ($r2, "174", "the second target wrote its marker");

done_testing;
