# No descriptor leak in the parent or the template: 200 processes, one after
# the other, each with a sent pipe, in a program limited to 32 descriptors.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use AEFHelp;

my $N = 200;

my $code = q{
   use strict;
   use AnyEvent;
   use AnyEvent::Fork;
   my ($n, $ok) = (shift, 0);
   for my $i (1 .. $n) {
      my $res = eval {
         pipe my $r, my $w or die "pipe: $!\n";
         AnyEvent::Fork
            ->new
            ->send_fh ($w)
            ->send_arg ($i)
            ->eval ('sub fn { my ($fh, $w, $i) = @_; syswrite $w, "w$i"; close $w; syswrite $fh, "s$i" }')
            ->run ("fn", my $cv = AE::cv);
         undef $w;
         my $fh = $cv->recv;
         AnyEvent::Util::fh_nonblocking ($fh, 0);
         # exact lengths, not end-of-file: a leaked copy must make this
         # fail (descriptors run out), not hang
         my ($s, $p) = ("", "");
         1 while length $s < length "s$i" and sysread $fh, $s, 100, length $s;
         1 while length $p < length "w$i" and sysread $r, $p, 100, length $p;
         "$s $p" eq "s$i w$i" or die "got '$s $p'\n";
         1
      };
      unless ($res) {
         print "iteration $i failed: $@";
         last;
      }
      ++$ok;
   }
   opendir my $dh, "/proc/$$/fd";
   my @fd = grep /^\d+\z/, readdir $dh;
   print "ok=$ok\n";
   print "limit=", `sh -c 'ulimit -n'`;
   print "template=", join (" ", do { opendir my $t, "/proc/" . $AnyEvent::Fork::TEMPLATE->pid . "/fd"; sort { $a <=> $b } grep /^\d+\z/, readdir $t }), "\n";
};

require AnyEvent::Util; # the program uses it; loaded explicitly there too
$code =~ s/use AnyEvent::Fork;/use AnyEvent::Fork; use AnyEvent::Util;/;

cloexec_inherited (); # descriptors we inherited are not the product's business

my ($st, $out, $err) = run_cmd ({}, "/bin/sh", "-c", 'ulimit -n 32 && exec "$@"', "sh", perl_cmd ("-e", $code, $N));
is ($st, 0, "the program ran (status 0)") or diag $err;
like ($out, qr/^limit=32$/m, "it ran with at most 32 descriptors");
like ($out, qr/^ok=$N$/m, "$N processes, each with a pipe sent, one after the other: none failed") or diag $out, $err;
like ($out, qr/^template=0 1 2 \d+$/m, "the template holds 0, 1, 2 and its socket afterwards");
is ($err, "", "nothing on STDERR");

done_testing;
