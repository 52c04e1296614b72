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
use File::Temp ();

use AnyEvent;
use AnyEvent::Fork;

delete $ENV{LD_BIND_NOW};

# what the template is started with: perl is run through a wrapper that
# records the LD_BIND_NOW it was given. (The template's /proc/PID/environ
# will not do: perl's $0 of the template may overwrite the strings there.)
my $dir = File::Temp->newdir;

{
   my $wrap = "$dir/perl";
   open my $fh, ">", $wrap or die "$wrap: $!";
   print $fh "#!/bin/sh\n",
             "printf '%s' \"\${LD_BIND_NOW-(unset)}\" > '$dir/bind'\n",
             "exec '$^X' \"\$@\"\n";
   close $fh or die "$wrap: $!";
   chmod 0755, $wrap or die "$wrap: $!";

   local $AnyEvent::Fork::PERL = $wrap;
   my $t = AnyEvent::Fork->new_exec;
   is report ($t->fork, 'join ",", exists $ENV{LD_BIND_NOW} ? "set" : "unset", scalar grep /^LD_BIND_NOW=/, `env`'),
      "unset,0", "forked child: neither %ENV nor a program it runs sees it";
   # (the wrapper wrote the file before the template forked)
   open my $bind, "<", "$dir/bind" or die "$dir/bind: $!";
   is slurp ($bind), "AnyEvent::Fork::Serve", "template: started with LD_BIND_NOW (the value Serve removes)";
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
