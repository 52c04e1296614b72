=head1 NAME

AnyEvent::Fork::Remote - remote processes with the AnyEvent::Fork interface

=head1 SYNOPSIS

   use AnyEvent;
   use AnyEvent::Fork::Remote;

   # a perl on another machine, reached with ssh
   my $proc = AnyEvent::Fork::Remote->new_execp (
      "ssh", "ssh", "-o", "BatchMode=yes", "worker1.example", "perl"
   );

   # the same calls as with AnyEvent::Fork
   $proc
      ->require ("MyWorker")         # on the remote @INC
      ->eval ('sub hello { my ($fh, @args) = @_; print STDOUT "hi @args\n" }')
      ->send_arg ("from", "parent")
      ->run ("hello", sub {
           my ($fh) = @_
              or die "could not start the remote perl\n";
           # $fh is connected to the remote function's STDIN and STDOUT
        });

   # AnyEvent::Fork::RPC over it, unchanged
   use AnyEvent::Fork::RPC;

   my $rpc = AnyEvent::Fork::Remote
      ->new_execp ("ssh", "ssh", "worker1.example", "perl")
      ->require ("MyWorker")
      ->AnyEvent::Fork::RPC::run ("MyWorker::run",
           on_error => sub { warn "worker1: @_\n" },  # e.g. "connection failed"
        );

   $rpc->(1, 2, 3, sub { print "result: @_\n" });

   # and a pool of them
   use AnyEvent::Fork::Pool;

   my $pool = AnyEvent::Fork::Remote
      ->new_execp ("ssh", "ssh", "worker1.example", "perl")
      ->require ("MyWorker")
      ->AnyEvent::Fork::Pool::run ("MyWorker::run", max => 8);

=head1 DESCRIPTION

This module offers the interface of L<AnyEvent::Fork> for processes that
are not forked by this one: it runs a command of your choice, such as
C<perl>, C<ssh host perl> or C<rsh host exec perl>, with the command's
standard input B<and> standard output connected to one end of a socket
pair, types a small Perl program into it and, once that program has
started, hands you the socket. Nothing needs to be installed on the remote
side but a perl; the code that runs there is what you C<eval> and
C<require>, with the remote perl's own C<@INC>.

Because the method names and their meaning are those of AnyEvent::Fork,
code written for AnyEvent::Fork usually works with an
AnyEvent::Fork::Remote object in place of an AnyEvent::Fork one - in
particular L<AnyEvent::Fork::RPC> and L<AnyEvent::Fork::Pool> run over it
without changes, which is the main use: spreading workers over several
machines.

This is a drop-in replacement for AnyEvent::Fork::Remote 1.0 by Marc
Lehmann, built on this distribution's C core (for starting the command)
and without its dependencies (Proc::FastSpawn, common::sense). Where 1.0
is broken it is fixed; see L</DIFFERENCES FROM THE ORIGINAL>.

=head1 CONCEPTS

=over

=item Nothing happens before C<run>.

C<eval>, C<require> and C<send_arg> only add text to the object. Every
C<run> starts a new process - one new ssh session with ssh - and sends it
everything accumulated so far. The object is not used up: later runs start
further processes, including whatever was added in between.

=item The program.

The remote perl is started without a script, so it reads its program
from standard input. The program first sets C<$0>, then runs the code of
each C<eval> and C<require>, in order, each in a C<BEGIN> block of its own
(so each is compiled after the one before it has run, as with
AnyEvent::Fork), then performs the handshake and finally calls the
function given to C<run> as C<FUNC (*STDIN, @args)>, where C<@args> are the
C<send_arg> strings. The program ends with C<__END__>.

=item The handshake.

After compiling its program, the remote perl writes a 10-byte token to
STDOUT and waits for one byte on STDIN. The parent ignores everything it
reads before the token (login banners, a shell's C<echo>, output of
C<BEGIN> code), answers it with a newline and calls C<run>'s callback with
the socket. From then on the socket carries whatever the two sides make of
it - for example the RPC framing. The token is computed in the remote perl
from two printable strings, so it never appears in the program text, and
a channel that echoes what it is sent (a terminal) cannot fake it.

=item Failures.

Anything that goes wrong before the handshake - the command cannot be
started, it exits (ssh cannot connect or authenticate, the remote shell
eats the program), the eval code does not compile or dies - closes the
connection before the token arrives, and C<run>'s callback receives
C<undef>, always from the event loop, never from within C<run>.
AnyEvent::Fork::RPC reports that as C<on_error ("connection failed")>.
Perl's own messages (compile errors, C<die> texts, ssh's complaints) go to
the remote perl's STDERR, which is the parent's STDERR for a local
command and forwarded there by ssh.

=back

=head1 THE REMOTE SIDE

=over

=item STDIN and STDOUT are the channel.

The function called by C<run> receives the glob C<*STDIN> as its first
argument (C<fileno> 0). With a local perl, descriptors 0 and 1 are the
same socket; under ssh they are two pipes, and STDIN is B<read-only>. So
remote code must B<read from STDIN and write to STDOUT>; the portable
idiom (used by AnyEvent::Fork::RPC's backends) is: if C<fileno> of the
handle you were given is not 0, use it in both directions, else read
STDIN and write STDOUT.

Because STDOUT is the channel, a stray C<print> in a worker corrupts the
RPC stream: RPC then reports C<unexpected eof> or C<unexpected data from
child>. Print diagnostics to STDERR. Output buffered by perl's STDOUT
layer (without C<$|>) is written when the process exits; RPC's backends
flush it before they close their side, so it arrives after the last reply,
where it is ignored.

=item Environment.

A plain perl: no C<strict>, no C<warnings>, package C<main>, nothing
loaded. C<@INC>, C<%ENV> and the current directory are those the command
gives it: a local perl inherits the parent's environment (so
C<PERL5LIB>, but not the parent's C<use lib> or C<-I>) and directory;
ssh gives the login's environment and home directory and does not pass
C<PERL5LIB> on (use C<ssh host "PERL5LIB=/path perl"> or sshd's
C<AcceptEnv>).

=item Process name.

C<$0> is C<OWNER FUNC>, where OWNER is C<HOST:PID>: the parent's
C<$ENV{HOSTNAME}> (C<*> when empty or unset, which is usual, since shells
do not export it) and process id. AnyEvent::Fork::RPC's backends keep that
owner and show their function: C<*:4711 AnyEvent::Fork::RPC::Sync::run>.

=item RPC and Pool workers.

The remote perl needs AnyEvent::Fork::RPC's backend modules on its
C<@INC> (and L<AnyEvent> for the asynchronous one). The backends use this
distribution's compiled core when the remote perl can load it; when it
cannot - a remote host with only the F<.pm> files of this distribution,
or a perl it was not built for - they fall back to pure-Perl loops that
send and expect the same bytes (L<AnyEvent::Fork::RPC::PurePerl>), so
copying F<lib/> to the remote host is enough.

=back

=head1 EXAMPLES

=head2 An RPC worker in a remote perl

A worker function called over AnyEvent::Fork::RPC. Here the "remote"
perl is a local one, so that the program runs anywhere; for a real host,
start C<ssh> instead, as the comment shows.

   use AnyEvent;
   use AnyEvent::Fork::Remote;
   use AnyEvent::Fork::RPC;

   # a local perl finds the modules this program finds; over ssh, set
   # PERL5LIB in the remote command ("PERL5LIB=/opt/lib perl") if needed
   $ENV{PERL5LIB} = join ":", grep !ref, @INC;

   my $cv = AE::cv;

   my $rpc = AnyEvent::Fork::Remote
      ->new_execp ("perl", "perl")
      # ->new_execp ("ssh", "ssh", "-o", "BatchMode=yes", "worker1", "perl")
      ->eval (q{
           sub info {
              my ($what) = @_;
              AnyEvent::Fork::RPC::event ("working on $what");
              ("$what, answered by pid $$", "my \$0 is '$0'")
           }
        })
      ->AnyEvent::Fork::RPC::run ("info",
           on_event   => sub { print "event: @_\n" },
           on_error   => sub { print "error: @_\n"; $cv->send },
           on_destroy => sub { print "worker gone\n"; $cv->send },
        );

   $rpc->("a question", sub {
      print "result: $_\n" for @_;
      undef $rpc; # the worker exits
   });

   $cv->recv;

=head2 A pool of workers on several hosts

A pool whose workers start on the next host in turn: the create callback
of C<new> decides where each process runs. It makes a socket pair, starts
the command with the peer socket as its STDIN and STDOUT, closes the peer
and passes its own end to C<$done>. The "hosts" are local perls here;
F<examples/remote-pool.pl> in this distribution does the same over ssh to
two network namespaces, with a live progress line.

   use AnyEvent;
   use AnyEvent::Fork::Remote;
   use AnyEvent::Fork::Pool;
   use Socket;
   use POSIX ();

   # the command that starts a perl on each host, for example
   # ["ssh", "-o", "BatchMode=yes", "alpha", "perl"]
   my @hosts = (["perl"], ["perl"]);
   $ENV{PERL5LIB} = join ":", grep !ref, @INC; # (local "hosts")

   my $n = 0;
   my $template = AnyEvent::Fork::Remote->new (sub {
      my ($done) = @_;
      my @cmd = @{ $hosts[$n++ % @hosts] };

      socketpair my $fh, my $peer, AF_UNIX, SOCK_STREAM, PF_UNSPEC
         or die "socketpair: $!";

      my $pid = fork;
      defined $pid or die "fork: $!";
      unless ($pid) {
         open STDIN, "<&", $peer and open STDOUT, ">&", $peer
            and exec { $cmd[0] } @cmd;
         POSIX::_exit (127);
      }

      close $peer;
      $done->($fh);
   });

   my $pool = $template
      ->eval ('sub square { ($$, $_[0] * $_[0]) }')
      ->AnyEvent::Fork::Pool::run ("square", max => 4);

   my $cv = AE::cv;
   for my $i (1 .. 8) {
      $cv->begin;
      $pool->($i, sub {
         my ($pid, $square) = @_;
         print "$i squared is $square (worker $pid)\n";
         $cv->end;
      });
   }
   $cv->recv;

=head1 SSH RECIPES

=head2 Sharing one ssh connection

Each C<run> is a new ssh session: key exchange and authentication every
time (a quarter of a second or more). With OpenSSH's connection sharing,
only the first one pays:

   my @ssh = ("ssh", "-o", "BatchMode=yes",
              "-o", "ControlMaster=auto", "-o", "ControlPersist=60",
              "-o", "ControlPath=/tmp/aef-ssh-%r@%h:%p");
   my $proc = AnyEvent::Fork::Remote->new_execp ($ssh[0], @ssh, $host, "perl");

=head2 A handle you connected yourself

C<new_from_fh> takes a bidirectional handle (a socket) that is already
connected to a freshly started perl, for example one made with
Net::OpenSSH's C<open2socket>. One handle allows one run.

=head1 TYPICAL PROBLEMS

=over

=item ssh asks for a password or a host key confirmation.

Then the run waits until someone answers on the terminal: there is no
timeout. Use C<-o BatchMode=yes>, so that ssh fails instead (and the
callback gets C<undef>).

=item C<connection failed> from RPC.

The remote perl did not reach the handshake: the host cannot be reached,
authentication failed, or the backend module is not on the remote
C<@INC> (C<Can't locate AnyEvent/Fork/RPC/Sync.pm> on STDERR). Remember
that ssh does not pass C<PERL5LIB>.

=item Pool workers fail to connect when many start at once.

sshd drops unauthenticated connections beyond C<MaxStartups> (10 by
default, randomly from then on). The pool gives the jobs of a worker that
could not connect back to its queue (nothing was sent to it); raise
C<MaxStartups>, start fewer workers at once (C<idle>, C<start>) or share
one connection (above).

=item The parent's own writes to STDERR fail with EAGAIN.

ssh makes its standard error non-blocking, and that is the parent's
STDERR (the same open file) while ssh runs. When the parent's stderr is a
pipe that fills up, the parent's own C<warn> can fail. Give ssh a stderr
of its own (C<sh -c 'exec ssh ... 2>>ssh.log'>) or keep it quiet
(C<-o LogLevel=ERROR>).

=item Code in C<eval> sees nothing the parent has.

Every remote process compiles everything itself: there is no template
whose memory is shared, no C<@INC> or environment passed on, no handles.
C<__END__> or C<__DATA__> in eval code ends the whole program.

=back

=head1 METHODS

Every method but C<run>, C<pid> and C<send_fh> returns the object, so
calls can be chained. The object is a blessed array reference.

=over

=item $proc = AnyEvent::Fork::Remote->new ($create)

An object whose processes are made by C<$create>: each C<run> calls
C<< $create->($done) >> once, at once. C<$create> must (then or later,
from an event) call C<< $done->($fh) >> with one handle connected to both
STDIN and STDOUT of a freshly started perl that has not read anything
yet. Passing a false value instead means failure: from within C<$create>,
C<run> dies with C<AnyEvent::Fork::Remote: create callback failed>; later,
from an event, C<run>'s callback receives C<undef> and the same text is
warned.

=item $proc = AnyEvent::Fork::Remote->new_exec ($path, @argv)

Each C<run> starts the program C<$path> (no PATH search) with the argument
list C<@argv> - C<$argv[0]> is the program's name, as with C<exec
PROGRAM LIST> - with the socket as its standard input and output, its
standard error the parent's, and the parent's environment and directory.
The process is reaped when it exits. When the program cannot be started,
C<run>'s callback receives C<undef> (from the event loop).

=item $proc = AnyEvent::Fork::Remote->new_execp ($file, @argv)

The same, but a C<$file> without a slash is looked up in C<$ENV{PATH}>
(at each C<run>), as C<execvp> does.

=item $proc = AnyEvent::Fork::Remote->new_from_fh ($fh, ...)

Each C<run> (on this object or on any C<fork> of it: they share the list)
uses the next of the given handles. When none is left, C<run> dies with
C<AnyEvent::Fork::Remote::new_from_fh does not support fork>. Each handle
must be one bidirectional handle such as a socket, connected to a perl
that has not read anything yet.

=item $new = $proc->fork

A new object with the same way of creating processes and a copy of the
code and arguments accumulated so far. No process is created; later
changes to either object do not affect the other. This is what lets a
Remote object serve as AnyEvent::Fork::Pool's template.

=item $pid = $proc->pid

Always C<undef>: the process is not necessarily a child of this one.

=item $proc->send_fh (...)

Always dies with C<send_fh is not supported on AnyEvent::Fork::Remote
objects>: descriptors cannot be passed over ssh.

=item $proc = $proc->eval ($code, @args)

Adds C<$code> to the program, to be run in the remote perl, in package
C<main>, with C<@_> set to C<@args> (C<undef> becomes C<"">), in a
C<BEGIN> block of its own: after the code added before it has run, before
the code added after it is compiled. Messages about the code name it as
the "file" C<'SUMMARY'>: the code with each whitespace run as one space and
each C<"> as C<''>, cut to 70 characters followed by C<...> - for example
C<Missing right curly or square bracket at 'sub f {' line 5>. A C<return>
leaves this code only. Code and arguments must be octet strings: a
character above 255 dies with C<Wide character in
AnyEvent::Fork::Remote::eval>.

=item $proc = $proc->require ($module, ...)

For each name, C<< $proc->eval ("require $module") >>: the name goes into
the program as it is.

=item $proc = $proc->send_arg ($string, ...)

Adds arguments for the function called by C<run>, after the socket.
Octet strings arrive unchanged (C<undef> as C<"">); a character above 255
dies with C<Wide character in AnyEvent::Fork::Remote::send_arg>.

=item $proc->run ($func, $cb->($fh))

Starts a process as described in L</CONCEPTS>, calls C<$func> in it
(a name; an unqualified one is in C<main>) and, after the handshake,
C<< $cb->($fh) >> with the parent's end of the socket (non-blocking,
close-on-exec), or C<< $cb->(undef) >> on failure - always from the event
loop. A function that does not exist makes the remote perl die with
C<Undefined subroutine>; the callback still gets the handle, which then
reaches end-of-file. The return value is whatever the create callback
returned; do not rely on it. There is no timeout: bound the wait yourself
when the command might hang (a password prompt, say).

=back

=head1 ERRORS

From C<run> (synchronously): C<AnyEvent::Fork::Remote: create callback
failed at ...>, C<AnyEvent::Fork::Remote::new_from_fh does not support
fork at ...>, C<AnyEvent::Fork::Remote: socketpair: $!> (no descriptors
left; C<new_exec>, C<new_execp>), C<Wide character in
AnyEvent::Fork::Remote::run> (in the function name). From C<send_fh>:
C<send_fh is not supported on AnyEvent::Fork::Remote objects>. From
C<eval> and C<send_arg>: C<Wide character in
AnyEvent::Fork::Remote::eval> / C<::send_arg>. A warning, when a create
callback fails from an event: C<AnyEvent::Fork::Remote: create callback
failed>. On the remote perl's STDERR, when the beginning of the program
was lost (a remote shell read part of it): C<AnyEvent::Fork::Remote: the
start of the program was lost>.

=head1 DIFFERENCES FROM THE ORIGINAL

The original is AnyEvent::Fork::Remote 1.0. Programs written for it see the same interface, program layout, C<$0>,
handshake and error texts, with these fixes:

=over

=item Octets arrive unchanged.

1.0 quoted C<send_arg> and C<eval> arguments so that C<\\> arrived as
C<\> and a string ending in a backslash made the run hang forever. Every
octet string now arrives exactly as given (the literals are double-quoted
with C<\xHH> escapes, which every perl 5 understands).

=item Wide characters die at the call.

In 1.0 a character above 255 made the write watcher die on every event
loop iteration (a busy loop flooding stderr, no callback). Now C<eval>,
C<send_arg> and C<run> die with C<Wide character in ...> at once.

=item A token arriving in pieces is recognised.

1.0 only looked at the end of each single read, so a handshake token
split across two reads was missed and the run hung.

=item Each eval is compiled after the one before it ran.

1.0 put all eval and require code into one C<BEGIN> block, so everything
was compiled before anything ran: a function of a module C<require>d
earlier was unknown to later code (a compile error, or - without
parentheses - a call silently parsed as a method call; this broke the
original AnyEvent::Fork::Pool's C<retire>), and a C<return> skipped all
later code. Each block now has a C<BEGIN> of its own, which gives
AnyEvent::Fork's order; nothing that worked with 1.0 changes.

=item Every failure calls back.

A create callback failing later, from an event, made 1.0 die inside that
event and never call C<run>'s callback; it now receives C<undef> (with a
warning). A program whose beginning was swallowed by a remote shell dies
before the handshake instead of running without its first part.

=item An undefined function dies.

The function is called with parentheses: an undefined one dies with
perl's C<Undefined subroutine> message (1.0 parsed the line as a
multiplication, with two parser warnings). The parent sees the same in
both: a handle, then end-of-file.

=item Processes are reaped, AnyEvent::Util is loaded.

1.0 never reaped the processes of C<new_exec> (zombies under
C<PERL_ANYEVENT_MODEL=Perl>) and used AnyEvent::Util without loading it
(C<new> and C<new_from_fh> objects died in C<run> when nobody else had
loaded it).

=item No Proc::FastSpawn, no common::sense.

Commands are started with this distribution's C core (C<vfork> and
C<exec>, the socket becoming descriptors 0 and 1).

=back

=head1 SEE ALSO

L<AnyEvent::Fork>, L<AnyEvent::Fork::RPC>, L<AnyEvent::Fork::Pool>,
L<AnyEvent::Fork::RPC::PurePerl>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers, after AnyEvent::Fork::Remote by Marc
Lehmann, whose interface and bootstrap this reimplements.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut

package AnyEvent::Fork::Remote;

use strict;
no warnings;

use Carp ();
use Errno ();
use Socket ();

use AnyEvent ();
use AnyEvent::Util ();

our $VERSION = '1.0';

# the object: [create callback, accumulated program text, send_arg strings]
sub CREATE () { 0 }
sub CODE   () { 1 }
sub ARGS   () { 2 }

# The handshake token is the XOR of these two printable strings, so the
# token itself never appears in the program, and a channel that echoes what
# it is sent (a terminal) cannot fake it.
my $K0    = 'aqpndsH0we';
my $K1    = 'kKbOetzRbo';
my $TOKEN = $K0 ^ $K1; # "\n:\x12!\x01\x072b\x15\n"

# the child processes started by new_exec/new_execp, reaped as they exit
my %CHILD;

# octets only: a copy of each string, undef as ""; croaks on wide characters
sub _octets {
   my $what = shift;

   map {
      my $s = defined $_ ? "$_" : "";
      utf8::downgrade ($s, 1)
         or Carp::croak ("Wide character in AnyEvent::Fork::Remote::$what");
      $s
   } @_
}

# a perl literal for an octet string, understood by any perl 5: a
# double-quoted string in which every byte but a few plain ones is \xHH
sub _q {
   my ($s) = @_;

   $s =~ s/([^A-Za-z0-9_ .,:\/+=-])/sprintf "\\x%02x", ord $1/ge;

   "\"$s\""
}

sub new {
   my ($class, $create) = @_;

   bless [$create, "", []], $class
}

sub _spawn {
   my ($done, $path, $argv) = @_;

   require AnyEvent::Fork::Core;

   socketpair my $fh, my $slave, Socket::AF_UNIX (), Socket::SOCK_STREAM (), Socket::PF_UNSPEC ()
      or die "AnyEvent::Fork::Remote: socketpair: $!";

   # a program that cannot be started leaves the socket without peer: the
   # bootstrap sees end-of-file and reports undef to run's callback
   if (defined $path) {
      my $pid = AnyEvent::Fork::Core::spawn (
         $path, $argv, [map "$_=$ENV{$_}", keys %ENV], $slave, 1,
      );

      $CHILD{$pid} = AE::child $pid, sub { delete $CHILD{$pid} }
         if $pid > 0;
   }

   close $slave;
   $done->($fh)
}

sub new_exec {
   my ($class, $path, @argv) = @_;

   $class->new (sub { _spawn ($_[0], $path, \@argv) })
}

# execvp's search: a name without a slash is looked up in $ENV{PATH} (an
# empty entry meaning the current directory); undef when nothing is found
sub _search {
   my ($file) = @_;

   return $file if $file =~ /\//;
   return undef unless length $file;

   for my $dir (split /:/, (defined $ENV{PATH} ? $ENV{PATH} : "/bin:/usr/bin"), -1) {
      my $path = (length $dir ? $dir : ".") . "/$file";
      return $path if -f $path && -x _;
   }

   undef
}

sub new_execp {
   my ($class, $file, @argv) = @_;

   $class->new (sub { _spawn ($_[0], _search ($file), \@argv) })
}

sub new_from_fh {
   my ($class, @fh) = @_;

   $class->new (sub {
      my $fh = shift @fh
         or Carp::croak ("AnyEvent::Fork::Remote::new_from_fh does not support fork");

      $_[0]->($fh);
   })
}

sub fork {
   my ($self) = @_;

   bless [$self->[CREATE], $self->[CODE], [@{ $self->[ARGS] }]], ref $self
}

sub pid {
   undef
}

sub send_fh {
   Carp::croak ("send_fh is not supported on AnyEvent::Fork::Remote objects");
}

sub eval {
   my $self = shift;
   my ($code, @args) = _octets (eval => @_);

   # the "file name" perl gives this code in its messages
   (my $name = $code) =~ s/\s+/ /g;
   $name =~ s/"/''/g;
   $name = substr ($name, 0, 70) . "..." if length $name > 70;

   # a BEGIN block of its own: compiled once the code before it has run
   $self->[CODE] .= "BEGIN { local \@_ = (" . (join ",", map _q ($_), @args) . ");\n"
                  . "#line 1 \"'$name'\"\n"
                  . "$code;\n"
                  . "}\n";

   $self
}

sub require {
   my ($self, @modules) = @_;

   $self->eval ("require $_")
      for @modules;

   $self
}

sub send_arg {
   my ($self, @arg) = @_;

   push @{ $self->[ARGS] }, _octets (send_arg => @arg);

   $self
}

sub run {
   my ($self, $func, $cb) = @_;

   ($func) = _octets (run => $func);

   my $owner = (length $ENV{HOSTNAME} ? $ENV{HOSTNAME} : "*") . ":$$";

   # a program that lost its start (to a remote shell reading its input,
   # say) dies before the handshake
   my $program = "BEGIN { \$0 = " . _q ("$owner $func") . "; \$AnyEvent::Fork::Remote::BOOT = 1 }\n"
               . $self->[CODE]
               . "\$AnyEvent::Fork::Remote::BOOT or die \"AnyEvent::Fork::Remote: the start of the program was lost\\n\";\n"
               . "syswrite STDOUT, " . _q ($K0) . " ^ " . _q ($K1) . "; { my \$x; sysread STDIN, \$x, 1 }\n"
               . "$func (*STDIN" . (join "", map ", " . _q ($_), @{ $self->[ARGS] }) . ");\n"
               . "__END__\n";

   my $sync = 1;

   my $done = sub {
      my ($fh) = @_;

      unless ($fh) {
         Carp::croak ("AnyEvent::Fork::Remote: create callback failed")
            if $sync;

         # later, from an event: nobody to croak to
         Carp::carp ("AnyEvent::Fork::Remote: create callback failed");
         return $cb->(undef);
      }

      _bootstrap ($fh, $program, $cb);
   };

   my @ret = eval { $self->[CREATE]->($done) };
   $sync = 0;
   die $@ if $@;

   wantarray ? @ret : $ret[-1]
}

# write the program, wait for the token, answer it, hand over the handle
sub _bootstrap {
   my ($fh, $program, $cb) = @_;

   AnyEvent::Util::fh_nonblocking ($fh, 1);

   my ($rw, $ww);
   my $ofs = 0;
   my $win = ""; # the last (up to) 10 bytes read

   my $fail = sub {
      undef $rw;
      undef $ww;
      $cb->(undef);
   };

   $ww = AE::io $fh, 1, sub {
      my $len = syswrite $fh, $program, 1 << 20, $ofs;

      if ($len) {
         undef $ww if ($ofs += $len) >= length $program;
      } elsif (!defined $len && ($! == Errno::EAGAIN () || $! == Errno::EINTR ())) {
         # try again
      } else {
         &$fail;
      }
   };

   $rw = AE::io $fh, 0, sub {
      my $len = sysread $fh, my $buf, 1024;

      if ($len) {
         # the token may arrive in pieces: keep a window across reads
         $win = substr $win . $buf, -10;

         if ($win eq $TOKEN) {
            undef $rw;
            undef $ww; # (the child writes the token after reading everything)
            syswrite $fh, "\n";
            $cb->($fh);
         }
      } elsif (!defined $len && ($! == Errno::EAGAIN () || $! == Errno::EINTR ())) {
         # try again
      } else {
         &$fail;
      }
   };
}

1
