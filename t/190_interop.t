# Wire compatibility with the original AnyEvent::Fork 1.32 (the same bytes
# in both directions):
# (a) an original parent drives our child, (b) our parent drives an original
# child, and (c) both children answer the same corrupted streams with the
# same texts and statuses. Needs the original, unpacked at $ENV{AEF_ORIG}
# (default /tmp/orig/root); never installed.
use strict;
use warnings;
use lib "t/lib";
use AEFHelp;

BEGIN {
   unless (AEFHelp::orig_inc ()) {
      print "1..0 # SKIP the original AnyEvent::Fork 1.32 is not unpacked at " . AEFHelp::orig_root () . " (set AEF_ORIG)\n";
      exit 0;
   }
}

use AEFTest timeout => 60;
use Test::More;
use AnyEvent;
use AnyEvent::Fork;

my @ORIG = orig_inc;
my $ORIG_FORK = "$ORIG[0]/AnyEvent/Fork.pm";
my $OUR_SERVE = (grep -f "$_/AnyEvent/Fork/Serve.pm", grep !ref, @INC)[0] . "/AnyEvent/Fork/Serve.pm"; # as %INC will say

# (a) the original parent, in a perl of its own: @INC has our directories
# first (so its exec'd children load our Serve and core) and the original's
# after them (so it finds IO::FDPass and Proc::FastSpawn); its Fork.pm is
# loaded from the original's file.
{
   my $code = q{
      use strict;
      use Test::More;
      my ($orig_fork, $our_serve) = @ARGV;
      require $orig_fork;
      $INC{"AnyEvent/Fork.pm"} = $orig_fork;
      use AnyEvent;

      is ($AnyEvent::Fork::VERSION, 1.32, "the parent runs the original AnyEvent::Fork 1.32");
      like ($INC{"IO/FDPass.pm"}, qr{^\Q$ARGV[2]\E}, "... with the original's IO::FDPass");
      ok (!defined &AnyEvent::Fork::Core::fd_send, "... and without our core");

      sub slurp { my $fh = shift; AnyEvent::Util::fh_nonblocking ($fh, 0); my $d = ""; 1 while sysread $fh, $d, 65536, length $d; $d }

      pipe my $r, my $w or die;
      my $t = AnyEvent::Fork->new_exec;
      $t->send_arg ("targ")->send_fh ($w)->eval ('
         $main::T = join ",", $INC{"AnyEvent/Fork/Serve.pm"}, ($INC{"IO/FDPass.pm"} ? "FDPass" : "noFDPass"),
                              ($INC{"AnyEvent/Fork/Core.pm"} ? "core" : "nocore"), $0, scalar @arg, $arg[0], @_;
         syswrite $arg[1], "from template\n";
      ', "e1", "e2");
      my $c = $t->fork;
      $t->eval ('pop @arg; sub rep { syswrite $_[0], "$main::T|" . join ",", map { ref $_ ? "FH" : $_ } @_[1..$#_] }');
      $c->send_arg ("carg")->eval ('syswrite $arg[1], "from child $0\n"; splice @arg, 1, 1; 1')
        ->require ("strict")
        ->eval ('sub rep { syswrite $_[0], "$main::T|" . join ",", $0, map { ref $_ ? "FH" : $_ } @_[1..$#_] }')
        ->run ("rep", my $cv = AE::cv);
      undef $w;
      my $child = slurp ($cv->recv);
      $t->run ("rep", $cv = AE::cv);
      my $tmpl = slurp ($cv->recv);
      my $pipe = slurp ($r);

      my $pid = $$;
      is ($tmpl, "$our_serve,noFDPass,core,$pid AnyEvent::Fork/exec,2,targ,e1,e2|targ", "our template: our Serve and core, eval with \@_ and \@arg, then run with its arguments");
      is ($child, "$our_serve,noFDPass,core,$pid AnyEvent::Fork/exec,2,targ,e1,e2|$pid rep,targ,carg", "our forked child: cloned state, send_arg, eval, require, run");
      is (join ("", sort split /^/, $pipe), "from child $pid AnyEvent::Fork\nfrom template\n", "send_fh: both processes wrote to the pipe, then end-of-file");
      done_testing;
   };
   my ($st, $out, $err) = run_cmd ({ PERL5LIB => undef },
                                   $^X, (map "-I$_", grep (!ref, @INC), @ORIG),
                                   "-e", $code, $ORIG_FORK, $OUR_SERVE, $ORIG[1]);
   note $err if length $err;
   tap_subtest ("original parent, our child", $st, $out);
}

# (b) our parent, the original child: with the original's directories first
# in @INC while new_exec runs, the child loads the original Serve (and, for
# descriptors, IO::FDPass)
sub orig_new_exec {
   local @INC = (@ORIG, @INC);
   AnyEvent::Fork->new_exec
}

{
   pipe my $r, my $w or die;
   my $t = orig_new_exec;
   $t->send_arg ("targ")->send_fh ($w)->eval ('
      $main::T = join ",", $INC{"AnyEvent/Fork/Serve.pm"}, ($INC{"IO/FDPass.pm"} ? "FDPass" : "noFDPass"),
                           ($INC{"AnyEvent/Fork/Core.pm"} ? "core" : "nocore"), $0, scalar @arg, $arg[0], @_;
      syswrite $arg[1], "from template\n";
   ', "e1", "e2");
   my $c = $t->fork;
   $t->eval ('pop @arg');
   $c->send_arg ("carg")->eval ('syswrite $arg[1], "from child $0\n"; splice @arg, 1, 1; 1')->require ("strict");
   undef $w;
   my $child = report ($c, '"$main::T|" . join ",", $0, @_');
   my $tmpl = report ($t, '"$main::T|" . join ",", @_');
   my $pipe = slurp ($r);
   is ($tmpl, "$ORIG[0]/AnyEvent/Fork/Serve.pm,FDPass,nocore,$$ AnyEvent::Fork/exec,2,targ,e1,e2|targ",
       "our parent, original template: the original Serve with IO::FDPass, eval with \@_ and \@arg, run with its arguments");
   is ($child, "$ORIG[0]/AnyEvent/Fork/Serve.pm,FDPass,nocore,$$ AnyEvent::Fork/exec,2,targ,e1,e2|$$ aefh_report,targ,carg",
       "our parent, original forked child: cloned state, send_arg, eval, require, run");
   is (join ("", sort split /^/, $pipe), "from child $$ AnyEvent::Fork\nfrom template\n", "send_fh: both processes wrote to the pipe, then end-of-file");
}

# (c) the same streams, good and corrupted, to both children: the same
# STDERR text (pids normalised) and the same exit status. "perl": no
# descriptor was sent before (our child still uses its Perl reader, the
# original has not loaded IO::FDPass); "core": the STDERR pipe was sent first.
sub outcome {
   my ($orig, $mode, $queue) = @_;
   my $new = sub { $orig ? orig_new_exec () : AnyEvent::Fork->new_exec };
   my ($r, $p);
   if ($mode eq "perl") {
      ($r, $p) = with_stderr_pipe ($new);
   } else {
      $p = $new->();
      pipe $r, my $w or die;
      $p->send_fh ($w)->eval ('open STDERR, ">&", $arg[-1] or die; close pop @arg');
   }
   my $st = watch_child ($p->pid);
   $queue->($p);
   flush_queue ($p);
   my $pid = $p->pid;
   undef $p;
   my $err = drain ($r);
   $err =~ s/\b$$\b/OWNER/g;
   $err =~ s/\b$pid\b/PID/g;
   $err =~ s/ at \S+ line \d+\.$/ at FILE line N./mg;
   ($err, $st->recv)
}

for my $mode ("perl", "core") {
   for my $case (
      ["eval error"              => sub { $_[0]->eval ('die "boom\n"') }],
      ["syntax error"            => sub { $_[0]->eval ('1 +') }],
      ["unknown command"         => sub { $_[0]->_cmd ("x", "") }],
      ["missing run function"    => sub { $_[0]->run ("nosuch") }],
      ["run function dies"       => sub { $_[0]->eval ('sub fn { die "x\n" }')->run ("fn") }],
      ["run function returns"    => sub { $_[0]->eval ('sub fn { }')->run ("fn") }],
      ["run function exits"      => sub { $_[0]->eval ('sub fn { exit 7 }')->run ("fn") }],
      ["h without a descriptor"  => sub { $_[0]->_cmd ("h", ""); $_[0][0][-1] .= "\0" }],
      ["warnings are off"        => sub { $_[0]->eval ('my $u; my $x = "$u"; warn "W=$^W\n"') }],
      ["\$! in evaluated code"   => sub { $_[0]->eval ('warn "errno=" . (0 + $!) . "\n"') }],
      ["end-of-file inside a frame" => sub { push @{ $_[0][0] }, "e" . pack ("L", 100) . "1;" }],
      ["end-of-file"             => sub { }],
   ) {
      my ($what, $queue) = @$case;
      my ($oerr, $ost) = outcome (1, $mode, $queue);
      my ($err, $st) = outcome (0, $mode, $queue);
      is ($err, $oerr, "$mode, $what: the same STDERR as the original");
      is ($st, $ost, "$mode, $what: the same exit status as the original");
   }
}

done_testing;
