# new_exec starts the template with LD_BIND_NOW (every symbol bound at
# start-up, so that forks never bind one lazily), but neither the template's
# code nor its children see the variable; a value the user set is passed
# on unchanged.
use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 30;
use AEFHelp;

use Test::More;

use AnyEvent;
use AnyEvent::Fork;

delete $ENV{LD_BIND_NOW};

# the environment the process was started with (Linux). The kernel shows
# it only once exec has set up the new image, a moment after the spawner
# returned: wait for it (the watchdog bounds the wait)
sub start_env {
   my ($pid) = @_;
   -r "/proc/$pid/environ" or return undef;
   my $env;
   wait_until {
      open my $fh, "<", "/proc/$pid/environ" or return 0;
      local $/;
      $env = <$fh>;
      defined $env && length $env
   };
   [split /\0/, $env]
}

{
   my $t = AnyEvent::Fork->new_exec;
   SKIP: {
      my $env = start_env ($t->pid);
      skip "no /proc/PID/environ", 1 unless $env;
      ok +(grep /^LD_BIND_NOW=./, @$env), "template: started with LD_BIND_NOW";
   }
   is report ($t->fork, 'join ",", exists $ENV{LD_BIND_NOW} ? "set" : "unset", scalar grep /^LD_BIND_NOW=/, `env`'),
      "unset,0", "forked child: neither %ENV nor a program it runs sees it";
   is report ($t, 'exists $ENV{LD_BIND_NOW} ? "set" : "unset"'), "unset", "template: %ENV does not have it";
}

# the loop looks at LD_BIND_NOW also where it does not exist (a perl
# started without it, Early and Template processes): with warnings on
# everywhere (-w) not a word on STDERR (the loop reads end-of-file on
# /dev/null, its socket here, and exits)
{
   my ($st, $out, $err) = run_cmd ({ PERL5LIB => join (":", grep !ref, @INC), PERL5OPT => "-w", LD_BIND_NOW => undef },
                                   $^X, "-MAnyEvent::Fork::Serve", "-e", "AnyEvent::Fork::Serve::me", 0, 1);
   is "$st <$err>", "0 <>", "no LD_BIND_NOW, perl -w: the loop exits silently";
}

{
   local $ENV{LD_BIND_NOW} = "";
   my $t = AnyEvent::Fork->new_exec;
   is report ($t->fork, 'defined $ENV{LD_BIND_NOW} ? "<$ENV{LD_BIND_NOW}>" : "undef"'), "<>",
      "the user's own LD_BIND_NOW: passed on unchanged";
}

done_testing;
