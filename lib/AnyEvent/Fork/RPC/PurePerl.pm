=head1 NAME

AnyEvent::Fork::RPC::PurePerl - the RPC worker loops without the C core

=head1 SYNOPSIS

   # nothing to do: AnyEvent::Fork::RPC::Sync and ::Async use it by
   # themselves in a perl that cannot load AnyEvent::Fork::Core

   # for example a remote host with only the .pm files of this
   # distribution on its @INC
   my $rpc = AnyEvent::Fork::Remote
      ->new_execp ("ssh", "ssh", "worker1", "PERL5LIB=/opt/aef/lib perl")
      ->require ("MyWorker")
      ->AnyEvent::Fork::RPC::run ("MyWorker::run");

=head1 DESCRIPTION

The worker side of L<AnyEvent::Fork::RPC> needs the distribution's
compiled core for its data path. A worker started by
L<AnyEvent::Fork::Remote> runs in whatever perl the remote command starts,
which may be a perl this distribution was never built for. There, the
backends L<AnyEvent::Fork::RPC::Sync> and L<AnyEvent::Fork::RPC::Async>
fall back to the loops of this module: they send and expect the same
bytes (the RPC 2.0 framing), so the parent cannot tell the difference,
only the speed differs.

The module needs perl 5.8.1 and the modules that come with it; the
asynchronous loop also needs L<AnyEvent> on the worker's C<@INC>, as the
asynchronous backend always did.

What the loops do, their error texts and their end-of-file behaviour are
those described in the two backends' documentation: the synchronous loop
serves one request after the other and writes each response before it
reads on, the asynchronous one reads through an AnyEvent watcher, queues
responses and events in one buffer and writes it when the socket is
writable.

=head1 FUNCTIONS

=over

=item AnyEvent::Fork::RPC::PurePerl::sync_run ($socket, @args, %handshake, -N)

=item AnyEvent::Fork::RPC::PurePerl::async_run ($socket, @args, %handshake, -N)

The loops, entered (with C<goto>) from the backends' C<run> functions.

=back

=head1 SEE ALSO

L<AnyEvent::Fork::RPC::Sync>, L<AnyEvent::Fork::RPC::Async>,
L<AnyEvent::Fork::Remote>.

=head1 AUTHOR

The AnyEvent::Fork::Core developers.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut

package AnyEvent::Fork::RPC::PurePerl;

use Errno ();

our $VERSION = 2;

# write all of $_[1] to $_[0], blocking; false on error
sub _write_all {
   my $ofs = 0;

   while ($ofs < length $_[1]) {
      my $len = syswrite $_[0], $_[1], (length $_[1]) - $ofs, $ofs;

      if ($len) {
         $ofs += $len;
      } elsif ($! != Errno::EINTR () && $! != Errno::EAGAIN ()) {
         return 0;
      }
   }

   1
}

# the parent may be done once it sees end-of-file: what was printed first
sub _finish {
   my ($wfh) = @_;

   my $old = select STDOUT; $| = 1; select $old;
   shutdown $wfh, 1;
}

# complete requests at the front of $$buf, as [id, payload] (id 1 for the
# synchronous frames, which carry none)
sub _frames {
   my ($buf, $async) = @_;
   my $hdr = $async ? 8 : 4;
   my @req;

   while ($hdr <= length $$buf) {
      my ($id, $len) = $async ? unpack "NN", $$buf : (1, unpack "N", $$buf);
      last if $hdr + $len > length $$buf;
      push @req, [$id, substr $$buf, $hdr, $len];
      substr ($$buf, 0, $hdr + $len) = "";
   }

   @req
}

# read more into $$buf, growing the read size as the parent does
sub _read {
   my ($fh, $buf, $rlen) = @_;

   $$rlen = $$rlen * 2 + 16
      if $$rlen - 128 < length $$buf;

   sysread $fh, $$buf, $$rlen - length $$buf, length $$buf
}

sub sync_run {
   my ($rfh, $wfh, $kv) = &AnyEvent::Fork::RPC::Sync::_prologue;

   my ($f, $t) = eval $kv->{serialiser}; die $@ if $@;
   my $function = $kv->{function};

   my $write = sub {
      _write_all ($wfh, pack "NN/a*", @_)
         or die "AnyEvent::Fork::RPC::Sync: write error ($!), parent gone?";
   };

   *AnyEvent::Fork::RPC::event = sub { $write->(0, $f->(@_)) };
   *AnyEvent::Fork::RPC::flush = sub { 1 };

   my $buf  = "";
   my $rlen = $kv->{rlen} || 512 - 16;

   while () {
      my $r = _read ($rfh, \$buf, \$rlen);

      unless ($r) {
         next if !defined $r && $! == Errno::EINTR ();
         last; # end-of-file or error: a partial request is dropped
      }

      $write->(1, $f->($function->($t->($_->[1]))))
         for _frames (\$buf);
   }

   _finish ($wfh);
   exit;
}

sub async_run {
   my ($rfh, $wfh, $kv) = &AnyEvent::Fork::RPC::Sync::_prologue;

   my $done = $kv->{done} || "AnyEvent::Fork::RPC::Async::do_exit";
   $done = do { package main; \&$done };

   my ($f, $t) = eval $kv->{serialiser}; AE::log (fatal => $@) if $@;
   my $function = $kv->{function};

   my ($rw, $ww);
   my $busy = 1; # until end-of-file, then one per request in progress
   my $wbuf = "";

   my $wcb = sub {
      my $len = length $wbuf ? syswrite $wfh, $wbuf : 0;

      if ($len) {
         substr ($wbuf, 0, $len) = "";
      } elsif (length $wbuf && $! != Errno::EAGAIN () && $! != Errno::EINTR ()) {
         AE::log (fatal => "AnyEvent::Fork::RPC: write error ($!), parent gone?");
      }

      unless (length $wbuf) {
         undef $ww;

         unless ($busy) {
            _finish ($wfh);
            @_ = ();
            goto &$done;
         }
      }
   };

   my $queue = sub {
      $wbuf .= pack "NN/a*", @_;
      $ww ||= AE::io ($wfh, 1, $wcb);
   };

   *AnyEvent::Fork::RPC::event = sub { $queue->(0, $f->(@_)) };
   *AnyEvent::Fork::RPC::flush = sub {
      my $ok = _write_all ($wfh, $wbuf);
      $wbuf = "";
      $ok ? 1 : 0
   };

   my $buf  = "";
   my $rlen = $kv->{rlen} || 512 - 16;

   $rw = AE::io ($rfh, 0, sub {
      my $r = _read ($rfh, \$buf, \$rlen);

      if ($r) {
         for (_frames (\$buf, 1)) {
            my $id = $_->[0];
            ++$busy;
            $function->(sub { --$busy; $queue->($id, $f->(@_)) }, $t->($_->[1]));
         }
      } elsif (defined $r || $! == Errno::EINVAL ()) {
         # end-of-file: finish once every request is answered
         undef $rw;
         --$busy;
         $ww ||= AE::io ($wfh, 1, $wcb);
      } elsif ($! != Errno::EAGAIN () && $! != Errno::EINTR ()) {
         AE::log (fatal => "AnyEvent::Fork::RPC: read error in child: $!");
      }
   });

   $AnyEvent::MODEL eq "AnyEvent::Impl::EV"
      ? EV::run ()
      : AE::cv ()->recv;
}

1
