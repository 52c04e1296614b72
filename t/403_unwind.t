use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 60;
use Test::More;
use IPCMScenarios qw(wait_for slurp_file tmp);
use IPC::Manager qw(ipcm_service ipcm_worker ipcm_default_protocol);

# a worker and a nested service started from inside user evals (and under
# intercept_errors) leave the enclosing service's frames: no eval catches
# that, and the frames' scope-exit actions run on the way
ipcm_default_protocol ('UnixSocket');
my $dir = tmp ();
our $X = 'outer';

{
   package Guard;
   sub new { my ($c, $f) = @_; bless [$f], $c }
   sub DESTROY { open my $fh, ">>", $_[0][0]; print $fh "$$\n"; close $fh }
}

my $h = ipcm_service (unwinder => (
   intercept_errors => 1,
   on_start => sub {
      my $self = shift;
      my $ok = eval {
         local $X = 'inner';
         my $g = Guard->new ("$dir/guard");
         $self->{wpid} = ipcm_worker (w => sub {
            open my $fh, ">", "$dir/worker" or die;
            print $fh "$$ $X";
            close $fh;
            0;
         });
         $self->{peer} = ipcm_service (nested => (handle_request => sub { "nested $X" }));
         1;
      };
      $self->{eval_ok} = $ok ? 1 : 0;
   },
   handle_request => sub { my $s = shift; "$s->{eval_ok} $s->{wpid}" },
));

my ($eval_ok, $wpid) = split ' ', $h->sync_request (unwinder => 'x', 10)->{response};
is $eval_ok, 1, "the parent side goes on in its eval";
ok wait_for { -s "$dir/worker" }, "worker ran";
is slurp_file ("$dir/worker"), "$wpid outer", "in the worker the local was restored before its code ran";
my %guards = map { $_ => 1 } split /\n/, slurp_file ("$dir/guard") || '';
ok $guards{$wpid}, "the guard's destructor ran in the worker while leaving the frames";
my $c = $h->client;
ok $c->peer_active ('nested', 10), "nested service runs";
my $id = $h->send_request (nested => 'y');
is $h->await_response ($id, 10)->{response}, "nested outer", "and answers, outside the abandoned frames";
undef $h;

done_testing;
