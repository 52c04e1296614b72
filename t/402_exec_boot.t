use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use File::Spec ();
use IPCMScenarios qw(slurp_file tmp);
use IPC::Manager::Serializer::JSON ();
use IPC::Manager::Service::State ();

is IPC::Manager::Service::State::_post_exec_run (), 255, "_post_exec_run before the boot module ran";

my @inc = map { "-I" . File::Spec->rel2abs ($_) } grep { !ref && m{blib|t/lib} } @INC;

for my $stay (0, 1) {
   my $out = tmp () . "/boot.$stay";
   my $json = IPC::Manager::Serializer::JSON->serialize ({
      class => 'IPCMExecClass', name => "boot$stay", out => $out, exec => { stay_in_begin => $stay },
   });
   system $^X, @inc, '-MIPC::Manager::Service::State', '-e',
      'exit(IPC::Manager::Service::State::_post_exec_run())', $json;
   is $?, 0, "stay_in_begin=$stay: exits 0 through the boot path";
   my $rec = slurp_file ($out) || '';
   like $rec, qr/^left=1$/m, "stay_in_begin=$stay: a labelled loop exit through nested subs works";
   like $rec, qr/^IPC::Manager::Service::State::_ipcm_service$/m, "stay_in_begin=$stay: the runner is in the caller stack";
   if ($stay) {
      unlike $rec, qr/_post_exec_run/, "stay_in_begin=1: _post_exec_run is not";
   }
   else {
      like $rec, qr/^IPC::Manager::Service::State::_post_exec_run$/m, "stay_in_begin=0: run under _post_exec_run";
   }
}

done_testing;
