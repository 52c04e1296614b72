# eval, require, send_arg, send_fh, run_args and the argument list (@arg,
# as AnyEvent::Fork::Serve's POD describes it).
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use Test::More;
use AEFHelp;

use File::Temp ();
use AnyEvent;
use AnyEvent::Fork;

# modules for require, in a directory the children find through PERL5LIB
my $dir = File::Temp->newdir;
mkdir "$dir/AEFT";
for my $m (qw(One Two)) {
   open my $fh, ">", "$dir/AEFT/$m.pm" or die;
   print $fh "package AEFT::$m; our \$LOADED = (\$AEFT::ORDER .= '$m'); 1;\n";
}
push @INC, "$dir";

# eval: @_ holds the arguments, the code runs in package main
is (report (AnyEvent::Fork->new->eval ('$main::R = join ",", __PACKAGE__, scalar @_, @_', "x", "", "z"), '$main::R'),
    "main,3,x,,z", "eval: code runs in package main with \@_ = the arguments");

# binary-safe, long and empty strings through eval and send_arg
{
   my @s = ("", "\0\xff\n", "a" x 130, join ("", map chr, 0..255) x 1000);
   my $out = report (AnyEvent::Fork->new->send_arg (@s)->eval ('@main::E = @_', @s),
                     'require Digest::MD5; join ",", map { unpack "H*", Digest::MD5::md5 ($_) } @main::E, @_');
   require Digest::MD5;
   my $want = join ",", map { unpack "H*", Digest::MD5::md5 ($_) } @s, @s;
   is ($out, $want, "octet strings (empty, binary, 130 and 256000 octets) arrive unchanged via eval and send_arg");
}

# send_arg (undef) arrives as an empty string
is (report (AnyEvent::Fork->new->send_arg ("a", undef, "c"), 'join "|", map { defined $_ ? "<$_>" : "undef" } @_'),
    "<a>|<>|<c>", "send_arg: undef arrives as an empty string");

# @arg in evaluated code: strings and handles in send order
{
   pipe my $r, my $w or die;
   my $p = AnyEvent::Fork->new;
   $p->send_arg ("s1", "s2")->send_fh ($w)->send_arg ("s3");
   undef $w;
   $p->eval ('$main::A = join ",", scalar @arg, map { ref \$_ eq "GLOB" || ref $_ ? "FH" : $_ } @arg; syswrite $arg[2], "via arg"');
   is (report ($p, '$main::A'), "4,s1,s2,FH,s3", "eval sees \@arg: strings and handles in send order");
   is (slurp ($r), "via arg", "a handle in \@arg is usable");
}

# run_args: a copy of the argument list, not cleared (the original's
# behaviour, kept although its documentation says it clears the list)
{
   pipe my $r, my $w or die;
   my $p = AnyEvent::Fork->new;
   $p->send_arg ("a")->send_fh ($w)->send_arg ("b");
   undef $w;
   $p->eval ('
      my @c = AnyEvent::Fork::Serve::run_args ();
      $main::RA = join ",", scalar @c, $c[0], (ref $c[1] ? "FH" : "notfh"), $c[2];
      @c = ("clobbered");
      $main::RA2 = join ",", AnyEvent::Fork::Serve::run_args ();
      $main::PROTO = prototype \&AnyEvent::Fork::Serve::run_args;
   ');
   my $out = report ($p, 'join "|", $main::RA, scalar @_, $_[0], $_[2], $main::PROTO, (defined &AnyEvent::Fork::Serve::run_args ? "exists" : "gone")');
   my @o = split /\|/, $out, -1;
   is ($o[0], "3,a,FH,b", "run_args returns the arguments, strings and handles in send order");
   is ($o[1], 3, "run_args does not clear: the run function still receives every argument");
   is ("$o[2],$o[3]", "a,b", "... in order");
   is ($o[4], "", "run_args has the prototype ()");
   is ($o[5], "gone", "run_args no longer exists inside the run function");
}

# run: the function gets (socket, arguments...), the socket is the other
# end of [1]
{
   pipe my $r, my $w or die;
   my $p = AnyEvent::Fork->new;
   $p->send_arg ("x")->send_fh ($w)->eval ('
      sub runfn {
         my ($fh, @a) = @_;
         syswrite $a[1], join ",", scalar @a, $a[0], (-S $fh ? "socket" : "nosocket");
         close $a[1];
         my $n = sysread $fh, my $buf, 100;
         syswrite $fh, "echo:$buf";
      }
   ')->run ("runfn", my $cv = AE::cv);
   undef $w;
   my $fh = $cv->recv;
   set_blocking ($fh, 1);
   is (slurp ($r), "2,x,socket", "the run function gets the socket followed by the arguments");
   syswrite $fh, "ping";
   is (slurp ($fh), "echo:ping", "the first argument is the other end of the parent's socket");
}

# send_fh: a read/write handle; the caller may drop its reference at once
{
   my $file = File::Temp->new;
   print $file "content";
   close $file;
   open my $fh, "+<", $file->filename or die;
   my @st = stat $fh;
   my $p = AnyEvent::Fork->new;
   $p->send_fh ($fh);
   undef $fh;
   my $out = report ($p, 'my @s = stat $_[0]; sysseek $_[0], 0, 0; sysread $_[0], my $buf, 100; syswrite $_[0], "+more"; "$s[0]:$s[1]:$buf"');
   is ($out, "$st[0]:$st[1]:content", "send_fh: the same file arrives, readable; the caller's reference was dropped right after send_fh");
   open my $in, "<", $file->filename or die;
   is (scalar <$in>, "content+more", "... and writable");
}

# many handles in one go, interleaved with strings
{
   my (@r, @w);
   for (1 .. 20) { pipe my $r, my $w or die; push @r, $r; push @w, $w }
   my $p = AnyEvent::Fork->new;
   $p->send_arg ("s$_")->send_fh ($w[$_ - 1]) for 1 .. 20;
   @w = ();
   $p->eval ('for (my $i = 0; $i < @arg; $i += 2) { syswrite $arg[$i + 1], $arg[$i] }');
   flush_queue ($p);
   undef $p;
   is (join (",", map slurp ($_), @r), join (",", map "s$_", 1 .. 20), "20 handles interleaved with strings arrive in order");
}

# arguments queued before a fork are in both processes, later ones only in
# the original
{
   my $t = AnyEvent::Fork->new;
   pipe my $r, my $w or die;
   $t->send_arg ("before")->send_fh ($w);
   my $c = $t->fork;
   $t->send_arg ("after");
   undef $w;
   my $in_c = report ($c, 'syswrite $_[1], "from child\n"; join ",", map { ref $_ ? "FH" : $_ } @_');
   my $in_t = report ($t, 'syswrite $_[1], "from original\n"; join ",", map { ref $_ ? "FH" : $_ } @_');
   is ($in_c, "before,FH", "the fork has the arguments queued before the fork (cloned)");
   is ($in_t, "before,FH,after", "the original keeps them and gets the later ones");
   is (join ("", sort split /^/, slurp ($r)), "from child\nfrom original\n", "both processes have the handle");
}

# require: module names, loaded in order, exactly as eval ('require "$_.pm" for @_', paths)
{
   my $p = AnyEvent::Fork->new;
   $p->require ("AEFT::Two", "AEFT::One");
   is (report ($p, 'join ",", $AEFT::ORDER, $INC{"AEFT/One.pm"}, $INC{"AEFT/Two.pm"}'),
       "TwoOne,$dir/AEFT/One.pm,$dir/AEFT/Two.pm", "require loads the modules in order (found through the propagated \@INC)");
}

# warnings are off in evaluated code unless it enables them (kept from the
# original, so that existing code gets no new warnings)
{
   my $p = AnyEvent::Fork->new;
   my $r = stderr_pipe ($p);
   $p->eval ('my $u; my $x = "$u"; $main::W = $^W;');
   is (report ($p, '$main::W'), 0, '$^W is 0 in evaluated code');
   is (slurp ($r), "", "... so an uninitialised value warns nothing");
}

done_testing;
