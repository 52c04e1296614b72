# Services glue (XSUBs only; the code is in xs/svc.c, see xs/svc.h):
#
#   $uuid = IPC::Manager::Core::uuid          random version 4 UUID
#   $pid = IPC::Manager::Core::pid            this process's id, as $$, but
#                                             without a system call
#   $bool = IPC::Manager::Core::pid_alive ($pid)
#                                             running and not a zombie
#   $fd = IPC::Manager::Core::watch_open ($dir, $peers)
#                                             inotify descriptor, undef + $!
#   $n = IPC::Manager::Core::watch_drain ($fh_or_fd)
#   $step = IPC::Manager::Core::pidfile_put ($pidfile, $pid)
#                                             0, or the failed step with $!
#   $pid = IPC::Manager::Core::pidfile_wait ($pidfile, $watch_fh_or_undef, $timeout)
#                                             the live pid the file names, 0 on
#                                             timeout, undef + $! on error
#   $bytes = IPC::Manager::Core::dgram_recv ($fh_or_fd)
#                                             whole datagram, undef + $!
#   @bytes = IPC::Manager::Core::dgram_recv_all ($fh_or_fd)
#                                             every queued datagram, undef
#                                             for one dropped as too large
#   $step = IPC::Manager::Core::file_put ($dir, $name, $bytes)
#                                             0, or the failed step with $!
#   @name_bytes = IPC::Manager::Core::files_take ($dir, $suffix)
#                                             the files taken, () + $! when
#                                             the folder cannot be read
#   @payloads = IPC::Manager::Core::frames ($buffer)
#                                             complete frames, removed from
#                                             $buffer; a final undef when the
#                                             next frame is too large
#   $frame = IPC::Manager::Core::frame ($payload)
#   $loop = IPC::Manager::Core::Loop->new
#   $res = $loop->wait (\@rfds, \@wfds, \@signums, \@pids, $reap, $timeout)


MODULE = AnyEvent::Fork::Core	PACKAGE = IPC::Manager::Core

PROTOTYPES: DISABLE

SV *
uuid ()
  CODE:
{
  char buf[37];
  int r = aef_svc_uuid (buf);

  if (r)
    croak ("IPC::Manager::Core::uuid: no random bytes: %s", strerror (-r));
  RETVAL = newSVpvn (buf, 36);
}
  OUTPUT:
    RETVAL

IV
pid ()
  CODE:
    RETVAL = (IV)aef_svc_getpid ();
  OUTPUT:
    RETVAL

int
pid_alive (IV pid)
  CODE:
    RETVAL = aef_svc_pid_alive ((pid_t)pid);
  OUTPUT:
    RETVAL

SV *
watch_open (const char *dir, int peers)
  CODE:
{
  int fd = aef_svc_watch_open (dir, peers);

  if (fd < 0)
    {
      errno = -fd;
      RETVAL = &PL_sv_undef;
    }
  else
    RETVAL = newSViv (fd);
}
  OUTPUT:
    RETVAL

int
pidfile_put (const char *pidfile, IV pid)
  CODE:
{
  int step = 0, r = aef_svc_pidfile_put (pidfile, (long)pid, &step);

  if (r)
    errno = -r;
  RETVAL = r ? step : 0;
}
  OUTPUT:
    RETVAL

SV *
pidfile_wait (const char *pidfile, SV *fh, NV timeout)
  CODE:
{
  long r = aef_svc_pidfile_wait (pidfile, SvOK (fh) ? aef_xs_fd (aTHX_ fh, "watch") : -1,
                                 timeout < 0 ? -1L : (long)(timeout * 1000 + 0.999));

  if (r < 0)
    {
      errno = (int)-r;
      RETVAL = &PL_sv_undef;
    }
  else
    RETVAL = newSViv (r);
}
  OUTPUT:
    RETVAL

int
watch_drain (SV *fh)
  CODE:
    RETVAL = aef_svc_watch_drain (aef_xs_fd (aTHX_ fh, "watch"));
  OUTPUT:
    RETVAL

SV *
dgram_recv (SV *fh)
  CODE:
    RETVAL = aef_xs_svc_dgram_recv (aTHX_ aef_xs_fd (aTHX_ fh, "socket"));
  OUTPUT:
    RETVAL

void
dgram_recv_all (SV *fh)
  PPCODE:
{
  AV *av = (AV *)sv_2mortal ((SV *)newAV ());

  aef_xs_svc_dgram_recv_all (aTHX_ aef_xs_fd (aTHX_ fh, "socket"), av);
  SP = aef_xs_push_av (aTHX_ SP, av);
}

int
file_put (const char *dir, const char *name, SV *data)
  CODE:
{
  STRLEN len;
  const char *p = SvPVbyte (data, len);
  int step = 0, r = aef_svc_file_put (dir, name, p, len, &step);

  if (r)
    errno = -r;
  RETVAL = r ? step : 0;
}
  OUTPUT:
    RETVAL

void
files_take (const char *dir, const char *suffix)
  PPCODE:
{
  AV *av = (AV *)sv_2mortal ((SV *)newAV ());
  int r = aef_xs_svc_files_take (aTHX_ dir, suffix, av);

  if (r < 0)
    errno = -r;
  SP = aef_xs_push_av (aTHX_ SP, av);
}

void
frames (SV *buf)
  PPCODE:
{
  int too_large = 0;
  AV *av = aef_xs_svc_frames (aTHX_ buf, &too_large);

  SP = aef_xs_push_av (aTHX_ SP, av);
  if (too_large)
    XPUSHs (&PL_sv_undef);
}

SV *
frame (SV *payload)
  CODE:
    RETVAL = aef_xs_svc_frame (aTHX_ payload);
  OUTPUT:
    RETVAL

MODULE = AnyEvent::Fork::Core	PACKAGE = IPC::Manager::Core::Loop

SV *
new (SV *klass)
  CODE:
    RETVAL = aef_xs_svc_loop_new (aTHX_ klass);
  OUTPUT:
    RETVAL

SV *
wait (IPC::Manager::Core::Loop loop, AV *rfds, AV *wfds, AV *sigs, AV *watch, int reap, NV timeout)
  CODE:
    RETVAL = aef_xs_svc_wait (aTHX_ loop, rfds, wfds, sigs, watch, reap, timeout);
  OUTPUT:
    RETVAL
