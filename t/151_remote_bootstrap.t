# AnyEvent::Fork::Remote's bootstrap over a local perl and over ssh's pipe
# semantics: the handle, the child's view (fd 0, the STDIN glob, $0, @_
# of eval code, arguments), octets unchanged in both directions, output
# before the handshake, a token arriving in pieces, each eval compiled
# after the one before ran, an undefined function, repeated runs.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 90;

use Test::More;
use Fcntl ();
use Socket ();
use File::Temp ();

use AnyEvent;
use AnyEvent::Fork::Remote;
use AEFRemote;
use AEFHelp;

remote_env ();

my $dump = 'sub show {
   my ($fh, @a) = @_;
   binmode STDOUT;
   $| = 1;
   my $in = "";
   sysread STDIN, $in, 100;
   print STDOUT join "\0", fileno ($fh), "$fh", $0, $in, scalar @a, @a;
}';

for my $t (transports ()) {
   my ($name, $new) = @$t;

   my ($fh, $async) = run_remote ($new->()->eval ($dump)->send_arg ("x", undef, "y"), "show");
   ok ref $fh && $async, "$name: a handle, asynchronously";
   ok fcntl ($fh, Fcntl::F_GETFL (), 0) & Fcntl::O_NONBLOCK (), "$name: non-blocking";
   ok fcntl ($fh, Fcntl::F_GETFD (), 0) & Fcntl::FD_CLOEXEC (), "$name: close-on-exec";
   syswrite $fh, "from parent";
   my @got = split /\0/, drain ($fh), -1;
   is_deeply \@got, [0, "*main::STDIN", "*:$$ show", "from parent", 3, "x", "", "y"],
      "$name: fd 0, the STDIN glob, \$0, parent's data on STDIN, args on STDOUT (undef as empty)";
}

{
   local $ENV{HOSTNAME} = "boxA";
   my ($fh) = run_remote (AnyEvent::Fork::Remote->new_exec ($^X, "perl")->eval ($dump), "show");
   shutdown $fh, 1;
   is +(split /\0/, drain ($fh))[2], "boxA:$$ show", "\$0 with HOSTNAME set";
}

# octets, both as send_arg and as eval arguments
my @octets = ("plain", "a'b", "a\\b", "a\\\\b", "a\\\\b'", "ends\\", "ends'\\", "\x10", "'\x10\x10'",
              "\0", "\xff\xfe", "\n", "\r", "\x04\x1a", "", join ("", map chr, 0 .. 255),
              '$x @y %z "q" `ls` ${\ die}', "\x{e9}");
my $echo = 'my @e = @_; sub echo { shift; binmode STDOUT; syswrite STDOUT, join "", map pack ("N/a*", $_), @e, @_ }';
for my $t (transports ()) {
   my ($name, $new) = @$t;
   my ($fh) = run_remote ($new->()->eval ($echo, @octets)->send_arg (@octets), "echo");
   my $data = ref $fh ? drain ($fh) : "";
   my @back;
   push @back, unpack "N/a*", substr $data, 0, 4 + unpack ("N", $data), "" while length $data >= 4;
   is_deeply \@back, [@octets, @octets], "$name: every octet string arrives unchanged";
}

{
   my $p = AnyEvent::Fork::Remote->new_exec ($^X, "perl");
   for my $call ([send_arg => sub { $p->send_arg ("a\x{100}") }],
                 [eval => sub { $p->eval ('1', "\x{263a}") }],
                 [eval => sub { $p->eval ("# \x{263a}") }],
                 [run => sub { $p->run ("f\x{100}", sub { fail "no callback" }) }]) {
      eval { $call->[1]->() };
      like $@, qr/^Wide character in AnyEvent::Fork::Remote::$call->[0] at /, "wide character croaks in $call->[0]";
   }
   my $down = "\x{e9}";
   utf8::upgrade ($down);
   my ($fh) = run_remote ($p->fork->eval ($echo)->send_arg ($down), "echo");
   is drain ($fh), pack ("N/a*", "\xe9"), "a character string without wide characters goes as octets";
}

# output before the handshake is dropped
{
   my ($fh) = run_remote (AnyEvent::Fork::Remote->new_exec ("/bin/sh", "sh", "-c", 'echo junk; printf "\n:"; exec "$0"', $^X)
      ->eval ('syswrite STDOUT, "in BEGIN\n"; sub f { syswrite STDOUT, "f" }'), "f");
   is drain ($fh), "f", "echo in the shell and a BEGIN-time write before the token are ignored";
}

# the token in two pieces, 0.1 s apart, fed by hand
{
   socketpair my $a, my $b, Socket::AF_UNIX (), Socket::SOCK_STREAM (), 0 or die;
   my $p = AnyEvent::Fork::Remote->new (sub { $_[0]->($a) });
   my $cv = AE::cv;
   my $program = "";
   my $token = "\x0a\x3a\x12\x21\x01\x07\x32\x62\x15\x0a";
   my $rw = AE::io $b, 0, sub { sysread $b, $program, 65536, length $program };
   my $t1 = AE::timer 0.05, 0, sub { syswrite $b, "noise" . substr $token, 0, 5 };
   my $t2 = AE::timer 0.15, 0, sub { syswrite $b, substr $token, 5 };
   my $t3 = AE::timer 5, 0, sub { $cv->send ("timeout") };
   $p->run ("f", sub { $cv->send ($_[0]) });
   my $fh = $cv->recv;
   ok ref $fh, "a token split across two reads is recognised";
   undef $rw;
   set_blocking ($b, 1);
   sysread $b, my $nl, 1;
   is $nl, "\n", "and answered with a newline";
   like $program, qr/__END__\n\z/, "the program ends with __END__";
   unlike $program, qr/\x12/, "the token is not in the program";
}

# each eval is compiled after the one before has run
{
   my $dir = File::Temp::tempdir (CLEANUP => 1);
   open my $pm, ">", "$dir/Decl.pm" or die;
   print $pm 'package Decl; sub hello { join "+", @_ } sub quit { join "+", @_ } 1';
   close $pm;
   local $ENV{PERL5LIB} = "$dir:$ENV{PERL5LIB}";
   for my $t (transports ()) {
      my ($name, $new) = @$t;
      my ($fh) = run_remote ($new->()
         ->require ("Decl")
         ->eval ('my $m = "M"; $main::r = Decl::hello "a", "b"; $main::q = Decl::quit $m, "quit"')
         ->eval ('return; $main::r = "not reached"')
         ->eval ('$main::after = "after return"; sub f { syswrite STDOUT, "$main::r $main::q $main::after" }'),
         "f");
      is ref $fh && drain ($fh), "a+b M+quit after return",
         "$name: a sub of a required module is known to later eval code; return leaves one eval only";
   }
}

# the remote side needs no module: a perl without PERL5LIB
{
   my ($fh) = run_remote (AnyEvent::Fork::Remote->new_exec ("/usr/bin/env", "env", "-u", "PERL5LIB", $^X)
      ->eval ('sub f { syswrite STDOUT, join ",", "loaded:", sort grep m{^AnyEvent/}, keys %INC }'), "f");
   is ref $fh && drain ($fh), "loaded:", "a plain run needs no module on the remote side (and loads none)";
}

# an undefined function: a handle, then end-of-file
{
   my @warn;
   my ($fh) = run_remote (AnyEvent::Fork::Remote->new_exec ($^X, "perl"), "nosuchfunc");
   ok ref $fh, "undefined function: a handle";
   is drain ($fh), "", "which reaches end-of-file";
}

# one object, two runs: two processes, the second with what was added
{
   my $p = AnyEvent::Fork::Remote->new_exec ($^X, "perl")->eval ('sub f { shift; syswrite STDOUT, "$$ @_ $main::y" }')->send_arg (1);
   my ($fh) = run_remote ($p, "f");
   my ($pid1, $rest1) = split / /, drain ($fh), 2;
   ($fh) = run_remote ($p->send_arg (2)->eval ('$main::y = "y"'), "f");
   my ($pid2, $rest2) = split / /, drain ($fh), 2;
   is $rest1, "1 ", "first run";
   is $rest2, "1 2 y", "second run has the code and args added in between";
   isnt $pid1, $pid2, "each run is a new process";
}

done_testing;
