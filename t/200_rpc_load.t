# Loading: RPC without AnyEvent::Fork, the serialiser globals, the backends'
# protocol version (2) and what each of them loads.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;

use Test::More;

use AnyEvent::Fork::RPC;

ok !exists $INC{"AnyEvent/Fork.pm"}, "AnyEvent::Fork::RPC does not load AnyEvent::Fork";
ok exists $INC{"AnyEvent.pm"}, "it loads AnyEvent";
is $AnyEvent::Fork::RPC::VERSION, "2.0", "VERSION 2.0";
ok defined &AnyEvent::Fork::RPC::run, "run exists";

is $AnyEvent::Fork::RPC::STRING_SERIALISER,
   '(sub { pack "(w/a*)*", @_ }, sub { unpack "(w/a*)*", shift })',
   "STRING_SERIALISER text";

# each global evaluates to (freeze, thaw) that round-trip their data
my %needs = (
   STRING_SERIALISER    => undef,
   CBOR_XS_SERIALISER   => "CBOR::XS",
   JSON_SERIALISER      => "JSON",
   STORABLE_SERIALISER  => "Storable",
   NSTORABLE_SERIALISER => "Storable",
);

for my $name (sort keys %needs) {
   no strict "refs";
   my $text = ${"AnyEvent::Fork::RPC::$name"};
   ok defined $text, "\$$name defined";

   SKIP: {
      skip "$needs{$name} not installed", 3
         if $needs{$name} && !eval "require $needs{$name}; 1";

      my ($f, $t) = eval $text;
      is ref $f, "CODE", "$name: freeze is code";
      is ref $t, "CODE", "$name: thaw is code";
      is_deeply [$t->($f->("a", "", "b\0c", 42))], ["a", "", "b\0c", 42], "$name: round trip";
   }
}

# the backends, each in a perl of its own
my @inc = map "-I$_", grep !ref, @INC;

sub perl_out {
   my ($code) = @_;
   open my $fh, "-|", $^X, @inc, "-e", $code or die "perl: $!";
   local $/;
   my $out = <$fh>;
   close $fh;
   ($out, $?)
}

my ($out, $st) = perl_out q{
   use AnyEvent::Fork::RPC::Sync 2 ();
   print join ",", $AnyEvent::Fork::RPC::Sync::VERSION,
      (exists $INC{"AnyEvent.pm"} ? "ae" : "no-ae"),
      (exists &AnyEvent::Fork::RPC::event ? "declared" : "undeclared"),
      (defined &AnyEvent::Fork::RPC::event ? "defined" : "undefined"),
      (defined &AnyEvent::Fork::RPC::Sync::do_exit ? "do_exit" : "no-do_exit");
};
is $out, "2,no-ae,declared,undefined,do_exit", "Sync: version 2, does not load AnyEvent, event only declared";

($out, $st) = perl_out q{
   use AnyEvent::Fork::RPC::Async 2 ();
   print join ",", $AnyEvent::Fork::RPC::Async::VERSION,
      (exists $INC{"AnyEvent.pm"} ? "ae" : "no-ae"),
      (exists &AnyEvent::Fork::RPC::flush ? "declared" : "undeclared"),
      (defined &AnyEvent::Fork::RPC::flush ? "defined" : "undefined"),
      (defined &AnyEvent::Fork::RPC::Async::do_exit ? "do_exit" : "no-do_exit");
};
is $out, "2,ae,declared,undefined,do_exit", "Async: version 2, loads AnyEvent, flush only declared";

($out, $st) = perl_out q{
   eval "use AnyEvent::Fork::RPC::Sync 3 (); 1" or print $@;
};
like $out, qr/^AnyEvent::Fork::RPC::Sync version 3 required--this is only version 2 at /,
   "the protocol version check fails for a newer protocol";

($out, $st) = perl_out q{ AnyEvent::Fork::RPC::Sync::do_exit (); BEGIN { require AnyEvent::Fork::RPC::Sync } print "not reached" };
is "$out/$st", "/0", "do_exit exits with status 0";

done_testing;
