#!/usr/bin/perl
# An exec-mode service: the child runs a fresh perl (the arguments in cmd
# go to that perl, here the include paths) with the service class given
# by name. Run: perl -Mblib examples/ipcm-exec.pl
use strict;
use warnings;
use File::Spec ();
use IPC::Manager qw(ipcm_service);

my @inc = map { "-I" . File::Spec->rel2abs ($_) } grep { !ref && -d } @INC[0 .. 1];

my $h = ipcm_service (echo => (
   class => 'IPC::Manager::Service::Echo',
   exec  => { cmd => \@inc },
));
print "exec'd service ", $h->service_pid, " (we are $$): ",
   $h->sync_request (echo => "ping", 5)->{response}, "\n";
