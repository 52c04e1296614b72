use strict;
use warnings;
use lib "t/lib";
use AEFTest timeout => 90;
use Test::More;
use IPCMScenarios qw(wait_for);
use IPC::Manager qw(ipcm_service ipcm_default_protocol);
use IPC::Manager::Service ();
use IPC::Manager::Service::Echo ();
use IPC::Manager::Util ();

# the loop looks up once per run what a request goes to, how the response
# leaves and which hooks have callbacks: a class's own methods still take
# over, and callbacks added while the service runs are called

{
   # handle_request, send_response and watch of its own
   package My::Own;
   BEGIN { $INC{"My/Own.pm"} = __FILE__ }
   our @ISA = ('IPC::Manager::Service');
   sub handle_request { my $self = shift; my @r = $self->SUPER::handle_request (@_); "own(@r)" }
   sub send_response {
      my ($self, $peer, $id, $value, @err) = @_;
      $self->SUPER::send_response ($peer, $id, "sent($value) waits=$self->{waits}", @err);
   }
   sub watch { my $self = shift; $self->{waits}++; $self->SUPER::watch (@_) }
}
{
   # a role class with its own run_on_all and run_should_end
   package My::Hooks;
   BEGIN { $INC{"My/Hooks.pm"} = __FILE__ }
   our @ISA = ('IPC::Manager::Service::Echo');
   sub run_on_all { $_[0]->{all}++; [] }
   sub run_should_end { $_[0]->{all} && $_[0]->{end} ? 1 : 0 }
   sub handle_request {
      my ($self, $req) = @_;
      $self->{end} = 1 if $req->{request} eq 'end';
      return "all=" . ($self->{all} || 0);
   }
}

for my $proto (qw(UnixSocket ConnectionUnix MessageFiles)) {
   ipcm_default_protocol ($proto);

   my $h = ipcm_service (own => (class => 'My::Own', handle_request => sub { "req:$_[1]{request}" }));
   my $r = $h->sync_request (own => "a", 10);
   like $r->{response}, qr/^sent\(own\(req:a\)\) waits=[1-9]\d*\z/,
      "$proto: the class's handle_request, send_response and watch";
   undef $h;

   # hooks added while the service runs
   $h = ipcm_service (late => (handle_request => sub {
      my ($self, $req) = @_;
      my $what = $req->{request};
      $self->push_on_all (sub { $_[0]->{all}++ }) if $what eq 'add';
      $self->push_should_end (sub { 1 }) if $what eq 'end';
      return $self->{all} || 0;
   }));
   is $h->sync_request (late => "count", 10)->{response}, 0, "$proto: no on_all callback: none called";
   $h->sync_request (late => "add", 10);
   ok $h->sync_request (late => "count", 10)->{response} > 0, "$proto: an on_all callback added later is called";
   my $pid = $h->service_pid;
   $h->sync_request (late => "end", 10);
   ok wait_for { !IPC::Manager::Util::pid_is_running ($pid) }, "$proto: a should_end callback added later ends the service";
   undef $h;

   $h = ipcm_service (hooks => (class => 'My::Hooks'));
   ok $h->sync_request (hooks => "count", 10)->{response} =~ /^all=([1-9]\d*)\z/, "$proto: the class's run_on_all is called";
   $pid = $h->service_pid;
   $h->sync_request (hooks => "end", 10);
   ok wait_for { !IPC::Manager::Util::pid_is_running ($pid) }, "$proto: the class's run_should_end is asked";
   undef $h;
}

done_testing;
