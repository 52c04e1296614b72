use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 120;
use Test::More;
use IPCMScenarios;

IPCMScenarios::run_all ("ConnectionUnix", @ARGV);
done_testing;
