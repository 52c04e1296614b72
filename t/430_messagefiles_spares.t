use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use IPC::Manager qw(ipcm_spawn ipcm_reconnect);
use IPC::Manager::Client::MessageFiles ();
use IPC::Manager::Message ();
use IPC::Manager::Core ();

# MessageFiles recycles message files: a client keeps the files it took
# (their old contents in place) in NAME/.spare and writes the messages it sends into them (one
# rename to PEER/ID.ready) instead of creating new ones. Linux only (it
# needs the no-replace rename).
plan skip_all => "spare message files need Linux" unless $^O eq 'linux';

my $spawn = ipcm_spawn (protocol => 'MessageFiles');
my $a = $spawn->connect ('a');
my $b = $spawn->connect ('b');
my ($adir, $bdir) = ($a->path, $b->path);

sub ls { my $d = shift; opendir my $dh, $d or return (); sort grep !/^\.\.?\z/, readdir $dh }
sub ino { (stat $_[0])[1] }

ok -d "$adir/.spare" && -d "$bdir/.spare", "each client has a spare folder";
is_deeply [$a->peers], ['b'], "peers do not see it";

my $m1 = $a->send_message (b => "hello");
my $ino = ino ("$bdir/$m1->{id}.ready");
my $size = -s "$bdir/$m1->{id}.ready";
ok $ino && $size, "the first message is a new file";
ok !$b->pending_messages && $b->ready_messages, "ready, not pending";
is_deeply [map $_->content, $b->get_messages], ["hello"], "received";
is_deeply [ls ("$bdir/.spare")], [$m1->{id}], "kept as a spare";
is -s "$bdir/.spare/$m1->{id}", $size, "its contents left as they were (the next message is written over them)";
is ino ("$bdir/.spare/$m1->{id}"), $ino, "the same file";
is_deeply [ls ($bdir)], ['.spare'], "nothing else left in the folder";

my $m2 = $b->send_message (a => { answer => "a longer answer than hello" });
is ino ("$adir/$m2->{id}.ready"), $ino, "the answer travels in the spare";
is_deeply [ls ($bdir . "/.spare")], [], "which is used up";
is_deeply [ls ($adir)], ['.spare', "$m2->{id}.ready"], "no .pend left";
is_deeply [map $_->content, $a->get_messages], [{ answer => "a longer answer than hello" }], "received whole";
my $m3 = $a->send_message (b => "hi");
is ino ("$bdir/$m3->{id}.ready"), $ino, "and again";
is_deeply [map $_->content, $b->get_messages], ["hi"], "shorter contents: no stale bytes";

# the descriptor of a spare just taken stays open (a send writes through
# it: no open of its own), and closes when the spare is used
{
   sub held { my $d = shift; grep { (readlink ("/proc/self/fd/$_") || '') =~ m{^\Q$d\E/\.spare/} } map { m{(\d+)\z} } glob "/proc/self/fd/*" }
   SKIP: {
      skip "no /proc/self/fd", 4 unless -d "/proc/self/fd";
      my @before = held ($bdir);
      my $m = $a->send_message (b => "held");
      $b->get_messages;
      my %before = map { $_ => 1 } @before;
      my @fds = grep !$before{$_}, held ($bdir);
      is scalar (@fds), 1, "the spare taken is held open";
      is readlink ("/proc/self/fd/$fds[0]"), "$bdir/.spare/$m->{id}", "that one";
      my $r = $b->send_message (a => "through it");
      is_deeply [held ($bdir)], \@before, "closed when sent in";
      is_deeply [map $_->content, $a->get_messages], ["through it"], "received";
   }
}

# at most $SPARES are kept; the rest are removed
{
   no warnings 'once';
   local $IPC::Manager::Client::MessageFiles::SPARES = 3;
   is scalar (() = ls ("$bdir/.spare")), 1, "b has one spare";
   my @ids = map $a->send_message (b => "m$_")->{id}, 1 .. 4;
   is_deeply [map $_->content, $b->get_messages], [qw(m1 m2 m3 m4)], "a burst received";
   is scalar (() = ls ("$bdir/.spare")), 3, "up to three kept";
   my @sent = map $b->send_message (a => "r$_")->{id}, 1 .. 4;
   is scalar (grep ino ("$adir/$_.ready") == $ino, @sent), 1, "the first spare among them";
   is scalar (() = ls ("$bdir/.spare")), 0, "all used";
   is_deeply [map $_->content, $a->get_messages], [qw(r1 r2 r3 r4)], "and a new file for the fourth";
}

# a message of another client is kept too; a spare whose folder vanished is
# not used, and the message is written as a new file
{
   my $c = $spawn->connect ('c');
   $c->send_message (a => "from c");
   is_deeply [map $_->content, $a->get_messages], ["from c"], "from c";
   my @spares = ls ("$adir/.spare");
   unlink "$adir/.spare/$_" for @spares;
   my $m = $a->send_message (c => "to c");
   ok -f $c->path . "/$m->{id}.ready", "a vanished spare: written anyway";
   is_deeply [map $_->content, $c->get_messages], ["to c"], "and received";
   $c->disconnect;
}

# with a watch, the files it announced are taken without listing the
# folder; one that was not announced (written in place, no rename) is found
# by the next look that had no announcement
if (IPC::Manager::Core::have_inotify ()) {
   my $m = IPC::Manager::Message->new (from => 'x', to => 'b', content => "in place");
   open my $fh, ">", "$bdir/$m->{id}.ready" or die $!;
   print $fh $a->_encode ($m);
   close $fh;
   $a->send_message (b => "renamed in");
   is_deeply [map $_->content, $b->get_messages], ["renamed in"], "the announced one";
   is_deeply [map $_->content, $b->get_messages], ["in place"], "then the other, listed";
}

# a client out of spares takes, when it sends, the messages its watch
# announced meanwhile: their files carry what it sends (no new file), and
# its next read gives them (in order); suspend puts such messages back in
# the folder as they were
if (IPC::Manager::Core::have_inotify ()) {
   my $c = $spawn->connect ('c');
   my $d = $spawn->connect ('d');
   my $cdir = $c->path;
   is_deeply [$c->get_messages], [], "c looked once";
   my @in = map $d->send_message (c => "in$_")->{id}, 1 .. 2;
   my %ino = map { ino ("$cdir/$_.ready") => 1 } @in;
   ok !$c->_buffered, "nothing taken yet";
   my $out = $c->send_message (d => "out");
   ok $ino{ ino ($d->path . "/$out->{id}.ready") }, "sent in the file of a message taken";
   is_deeply [grep /\.ready\z/, ls ($cdir)], [], "both taken from the folder";
   ok $c->_buffered && $c->ready_messages, "and waiting to be read";
   my $rin = '';
   vec ($rin, fileno $_, 1) = 1 for $c->handles_for_select;
   ok select (my $rout = $rin, undef, undef, 10) > 0, "the watch wakes a caller's own select for them";
   is_deeply [map $_->content, $c->get_messages], [qw(in1 in2)], "read in order";
   ok !$c->_buffered, "then nothing waits";
   is_deeply [map $_->content, $d->get_messages], ["out"], "d got it";

   $c->send_message (d => "uses the last spare") for 1 .. scalar (() = ls ("$cdir/.spare"));
   is_deeply [ls ("$cdir/.spare")], [], "c out of spares again";
   my %raw;
   for my $i (1 .. 3) {
      my $m = $d->send_message (c => "s$i");
      $raw{ $m->{id} } = do { local (@ARGV, $/) = ("$cdir/$m->{id}.ready"); <> };
   }
   $c->send_message (d => "takes them");
   ok $c->_buffered, "three messages taken";
   # one cannot be put back (its .pend name is taken): warned, the rest are
   my ($lost) = sort keys %raw;
   mkdir "$cdir/$lost.pend" or die $!;
   my @w;
   {
      local $SIG{__WARN__} = sub { push @w, @_ };
      $c->suspend;
   }
   like "@w", qr/^MessageFiles: could not put back message '\Q$lost\E': File exists at /, "warned";
   rmdir "$cdir/$lost.pend";
   my %back = map { /^(.*)\.ready\z/ ? ($1 => do { local (@ARGV, $/) = ("$cdir/$_"); <> }) : () } ls ($cdir);
   my $lost_content = $c->_decode (delete $raw{$lost})->{content};
   is_deeply \%back, \%raw, "suspend put the others back: same names, same bytes";
   my $c2 = ipcm_reconnect ('c', $spawn->info);
   is_deeply [map $_->content, $c2->get_messages], [grep $_ ne $lost_content, qw(s1 s2 s3)],
      "the next incarnation reads them";

   # it holds at most $SPARES messages so
   {
      no warnings 'once';
      local $IPC::Manager::Client::MessageFiles::SPARES = 1;
      my $cdir2 = $c2->path;
      $c2->send_message (d => "uses the last spare") for 1 .. scalar (() = ls ("$cdir2/.spare"));
      $d->send_message (c => "h$_") for 1 .. 2;
      $c2->send_message (d => "takes both, keeps one spare");
      is_deeply [grep /\.ready\z/, ls ($cdir2)], [], "both taken";
      $c2->send_message (d => "out of spares again");
      my $left = $d->send_message (c => "h3");
      $c2->send_message (d => "holds two already: takes nothing");
      is_deeply [grep /\.ready\z/, ls ($cdir2)], ["$left->{id}.ready"], "the third left in the folder";
      is_deeply [map $_->content, $c2->get_messages], [qw(h1 h2 h3)], "all read";
   }
   is_deeply [grep !/last spare/, map $_->content, $d->get_messages],
      ["takes them", "takes both, keeps one spare", "out of spares again", "holds two already: takes nothing"],
      "d got the rest";
   $c2->disconnect;
   $d->disconnect;
}

# a reconnect starts without the spares of the suspended incarnation
$a->send_message (b => "before");
$b->get_messages;
ok scalar (() = ls ("$bdir/.spare")), "b has a spare";
$b->suspend;
my $b2 = ipcm_reconnect ('b', $spawn->info);
is_deeply [ls ("$bdir/.spare")], [], "dropped on reconnect";
$a->send_message (b => "after");
is_deeply [map $_->content, $b2->get_messages], ["after"], "still works";

# disconnect takes the spares with the folder (and closes the held ones;
# those of the suspended incarnation b stay open until b goes: their
# files are deleted)
$a->send_message (b => "held at disconnect");
$b2->get_messages;
my @held = grep { readlink ("/proc/self/fd/$_") !~ / \(deleted\)\z/ } held ($bdir);
$b2->disconnect;
SKIP: {
   skip "no /proc/self/fd", 2 unless -d "/proc/self/fd";
   ok scalar (@held), "b2 held a spare";
   is_deeply [grep { (readlink ("/proc/self/fd/$_") || '') =~ m{/\.spare/} } @held], [], "closed at disconnect";
}
ok !-e $bdir, "gone with the folder";
$a->disconnect;
ok !-e $adir, "a too";

done_testing;
