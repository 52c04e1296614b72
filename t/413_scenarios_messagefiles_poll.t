use strict;
use warnings;
# the polling fallback: no inotify watches at all
BEGIN { $ENV{IPC_MANAGER_NO_INOTIFY} = 1 }
use lib "t/lib";
use AEFTest timeout => 120;
use Test::More;
use IPCMScenarios;

IPCMScenarios::run_all ("MessageFiles", @ARGV);
done_testing;
