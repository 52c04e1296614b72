# Loading AnyEvent::Fork::Pool (no Array::Heap, no side effects) and the
# scheduler heap object of the C core, checked against a Perl model.
use strict;
use warnings;
use Test::More;
use Scalar::Util ();

# Array::Heap must never be needed, whether installed or not
BEGIN {
   unshift @INC, sub { die "Array::Heap must not be loaded\n" if $_[1] =~ m{^Array/Heap}; () };
}

use AnyEvent::Fork::Pool;

is $AnyEvent::Fork::Pool::VERSION, "1.3", "version 1.3";
ok !(grep m{^Array/}, keys %INC), "no Array::Heap";
ok $INC{"AnyEvent/Fork.pm"}, "loads AnyEvent::Fork";
ok $INC{"AnyEvent/Fork/RPC.pm"}, "loads AnyEvent::Fork::RPC";
ok $INC{"AnyEvent.pm"}, "loads AnyEvent";
ok !$AnyEvent::Fork::TEMPLATE && !$AnyEvent::Fork::EARLY, "no template was made";
is prototype ("AnyEvent::Fork::Pool::ncpu"), ';$', "ncpu prototype";
is prototype ("AnyEvent::Fork::Pool::stats"), '$', "stats prototype";
ok !defined &AnyEvent::Fork::Pool::retire, "retire exists only in workers";
ok defined &AnyEvent::Fork::Pool::run, "run exists";

is eval { AnyEvent::Fork::Pool::stats sub { }; 1 }, undef, "stats on a plain code ref";
is $@, "AnyEvent::Fork::Pool::stats: not a pool\n", "... dies with its message";
is eval { AnyEvent::Fork::Pool::stats undef; 1 }, undef, "stats on undef dies too";

# ---------------------------------------------------------------- heap object

my $C = "AnyEvent::Fork::Pool::Core";
my $h = $C->new;
isa_ok $h, $C;
is $h->size, 0, "empty";
is $h->top, undef, "top of empty heap is undef";
is_deeply [$h->records], [], "no records";

my @r = map [$_, undef, "w$_"], 5, 3, 8, 3;
$h->push ($_) for @r;
is $h->size, 4, "four records";
is_deeply [sort map $_->[1], @r], [0, 1, 2, 3], "ids 0..3 handed out";
is $h->top->[0], 3, "top has the smallest key";
is_deeply [sort map $_->[2], $h->records], [qw(w3 w3 w5 w8)], "records lists them all";

is $h->adjust ($h->top, 6), 9, "adjust returns the new key";
is $h->top->[0], 3, "the other key-3 record is on top";
my $t = $h->top;
is $h->adjust ($t, 7), 10, "raise it to 10";
is $t->[0], 10, "adjust writes the key into the record";
is $h->top->[2], "w5", "then the key-5 record is on top";
is $h->adjust ($r[2], -9), -1, "lower the key-8 record to -1";
is $h->top, $r[2], "it moves to the top (the same record)";
for ($h->top) { $_ = 1 }
is $h->top, $r[2], "top returns a copy of the heap's reference";

ok $h->remove ($r[2]), "remove";
ok !defined $r[2][1], "remove clears the id";
ok !$h->remove ($r[2]), "second remove is false";
is $h->adjust ($r[2], 1), undef, "adjust of a removed record is undef";
is $r[2][0], -1, "... and leaves its key alone";
is $h->size, 3, "three left";

$h->push ($r[2]);
is $r[2][1], 2, "re-push reuses the free id";
is $h->top, $r[2], "and its key -1 counts again";

is eval { $h->adjust ($r[2], -9223372036854775807); 1 }, 1, "adjust down to the smallest key";
is eval { $h->adjust ($r[2], -1); 1 }, undef, "below it";
like $@, qr/^AnyEvent::Fork::Pool::Core: key overflow at /, "... croaks";
is $h->adjust ($r[2], 9223372036854775807), -1, "back";

my $forged = [0, $r[0][1]];
is $h->adjust ($forged, 1), undef, "a record with another record's id is not in the heap";
ok !$h->remove ($forged), "... and cannot be removed";
is $h->size, 4, "nothing changed";

is eval { $h->push ($r[0]); 1 }, undef, "pushing a record twice";
like $@, qr/^AnyEvent::Fork::Pool::Core: record is already in the heap at /, "... croaks";
is eval { $h->push ({}); 1 }, undef, "pushing a hash";
like $@, qr/^AnyEvent::Fork::Pool::Core: record is not an array reference at /, "... croaks";
is eval { $h->adjust ("x", 1); 1 }, undef, "adjust of a string";
like $@, qr/^AnyEvent::Fork::Pool::Core: record is not an array reference at /, "... croaks";
for my $foreign (bless ({}, $C), bless (\my $x, $C), "AnyEvent::Fork::Pool::Core", undef) {
   is eval { AnyEvent::Fork::Pool::Core::size ($foreign); 1 }, undef, "foreign object";
   like $@, qr/^AnyEvent::Fork::Pool::Core: not a pool heap object at /, "... croaks";
}

{
   my $ro = [0];
   Internals::SvREADONLY (@$ro, 1);
   is eval { $h->push ($ro); 1 }, undef, "pushing a read-only record";
   like $@, qr/^AnyEvent::Fork::Pool::Core: record is read-only at /, "... croaks";
   is $h->size, 4, "... before anything changed";
}

{
   my $rec = [0];
   $h->push ($rec);
   Internals::SvREADONLY (@$rec, 1);
   is eval { $h->adjust ($rec, 1); 1 }, undef, "adjusting a record made read-only";
   like $@, qr/^AnyEvent::Fork::Pool::Core: record is read-only at /, "... croaks";
   Internals::SvREADONLY (@$rec, 0);
   is $rec->[0], 0, "... before anything changed";
   ok $h->remove ($rec), "... and it is still in the heap";
}

# the scheduler's entry points check their arguments before doing anything
{
   my $pool = [];
   $pool->[12] = []; # the pool state's queue
   is eval { $h->schedule ({}); 1 }, undef, "schedule on a hash";
   like $@, qr/^AnyEvent::Fork::Pool::Core: record is not an array reference at /, "... croaks";
   is eval { $h->serve ("x"); 1 }, undef, "serve on a string";
   like $@, qr/^AnyEvent::Fork::Pool::Core: record is not an array reference at /, "... croaks";
   is eval { $h->done ($pool, {}); 1 }, undef, "done with a worker that is not an array";
   like $@, qr/^AnyEvent::Fork::Pool::Core: record is not an array reference at /, "... croaks";
   is eval { $h->done ($pool, [], "x"); 1 }, undef, "done with a callback queue that is not an array";
   like $@, qr/^AnyEvent::Fork::Pool::Core: record is not an array reference at /, "... croaks";
   is eval { AnyEvent::Fork::Pool::Core::done ("x", $pool, []); 1 }, undef, "done on a foreign heap";
   like $@, qr/^AnyEvent::Fork::Pool::Core: not a pool heap object at /, "... croaks";
   is eval { $h->entry ([], undef); 1 }, undef, "entry for a state without a queue";
   like $@, qr/^AnyEvent::Fork::Pool::Core: pool state without a queue at /, "... croaks";
   is ref $h->entry ($pool, undef), "CODE", "entry: a code reference";
   is ref $h->done ($pool, []), "CODE", "done: a code reference";
   is eval { $h->serve ($pool); 1 }, 1, "serve with nothing queued and no shutdown does nothing";
   is eval { $h->serve ($pool, "oops\n"); 1 }, undef, "serve rethrows the error it is given";
   is $@, "oops\n", "... as it is";
}

# the heap owns its records; removing or destroying releases them
{
   my $rec = [1];
   $h->push ($rec);
   Scalar::Util::weaken (my $weak = $rec);
   undef $rec;
   ok $weak, "the heap keeps a pushed record alive";
   $h->remove ($weak);
   ok !$weak, "remove releases it";

   $rec = [1];
   $h->push ($rec);
   Scalar::Util::weaken ($weak = $rec);
   undef $rec;
   undef $h;
   ok !$weak, "destroying the heap releases its records";
}

# random operations against a Perl model
{
   srand 42;
   my $heap = $C->new;
   my (@in, @out);
   @out = map [0, undef, $_], 0 .. 19;
   my ($bad, $tops) = (0, 0);

   for (1 .. 20000) {
      my $op = int rand 4;
      if ($op == 0 && @out) {
         my $rec = splice @out, rand @out, 1;
         $rec->[0] = int (rand 21) - 10;
         $heap->push ($rec);
         push @in, $rec;
      } elsif ($op == 1 && @in) {
         my $rec = $in[rand @in];
         my $delta = int (rand 7) - 3;
         my $want = $rec->[0] + $delta;
         $bad++ unless $heap->adjust ($rec, $delta) == $want && $rec->[0] == $want;
      } elsif ($op == 2 && @in) {
         my $rec = splice @in, rand @in, 1;
         $heap->remove ($rec) or $bad++;
         defined $heap->adjust ($rec, 1) and $bad++;
         push @out, $rec;
      } else {
         my ($min) = sort { $a <=> $b } map $_->[0], @in;
         my $top = $heap->top;
         if (@in) {
            ++$tops;
            $bad++ unless $top && $top->[0] == $min && grep $_ == $top, @in;
         } else {
            $bad++ if $top;
         }
      }
      $bad++ if $heap->size != @in;
   }

   is $bad, 0, "20000 random operations agree with the model ($tops tops checked)";
}

done_testing;
