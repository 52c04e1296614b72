# Services glue (XSUBs only; the code is in xs/svc.c, see xs/svc.h):
#
#   $uuid = IPC::Manager::Core::uuid          random version 4 UUID
#   $pid = IPC::Manager::Core::pid            this process's id, as $$, but
#                                             without a system call
#   $bool = IPC::Manager::Core::pid_alive ($pid)
#                                             running and not a zombie
#   $ino = IPC::Manager::Core::file_ino ($path)
#                                             the file's inode number, 0 + $!
#                                             when it cannot be looked at
#   $fd = IPC::Manager::Core::watch_open ($dir, $peers)
#                                             inotify descriptor, undef + $!
#   $n = IPC::Manager::Core::watch_drain ($fh_or_fd)
#   $step = IPC::Manager::Core::pidfile_put ($pidfile, $pid)
#                                             0, or the failed step with $!
#   $pid = IPC::Manager::Core::pidfile_wait ($pidfile, $watch_fh_or_undef, $timeout)
#                                             the live pid the file names, 0 on
#                                             timeout, undef + $! on error
#   $watch = IPC::Manager::Core::register_entry ($kind, $path, $fh_or_undef, $pid [, $want_watch])
#                                             the entry ('dgram': bind the
#                                             socket, 'stream': bind and
#                                             listen, 'dir': make the folder
#                                             and, with $want_watch, its
#                                             watch) and pidfile in one step:
#                                             the watch's descriptor (-1:
#                                             none), or undef + $! (nothing
#                                             left behind)
#   ($pid, $watch) = IPC::Manager::Core::fork_service ($reg, \@child_drop, \@parent_drop)
#                                             ipcm_service's fork: with $reg
#                                             ([kind, path, fh, want_watch,
#                                             name]) the child sets $0 and
#                                             registers before any Perl runs
#                                             ($watch as register_entry's);
#                                             each side releases its list;
#                                             a failed fork: undef, $! set
#   $bool = IPC::Manager::Core::free_is_quiet ($ref [, $budget])
#                                             whether freeing what $ref
#                                             refers to later changes
#                                             nothing a program sees (see
#                                             aef_xs_svc_free_is_quiet)
#   $n = IPC::Manager::Core::fds_release (@fh_or_fd)
#                                             each descriptor becomes
#                                             /dev/null (see
#                                             aef_svc_fd_release); the number
#                                             released, $! set on a failure
#   $bytes = IPC::Manager::Core::dgram_recv ($fh_or_fd)
#                                             whole datagram, undef + $!
#   @bytes = IPC::Manager::Core::dgram_recv_all ($fh_or_fd)
#                                             every queued datagram, undef
#                                             for one dropped as too large
#   $step = IPC::Manager::Core::file_put ($dir, $name, $bytes [, $spare_dir, \@spares])
#                                             0, or the failed step with $!;
#                                             uses (and removes) the last
#                                             spare named in @spares
#   @name_bytes = IPC::Manager::Core::files_take ($dir, $suffix [, $spare_dir, \@spares, $max])
#                                             the files taken, () + $! when
#                                             the folder cannot be read; keeps
#                                             files as spares in $spare_dir
#                                             (names pushed on @spares) while
#                                             @spares holds fewer than $max
#   @name_bytes = IPC::Manager::Core::files_take_watched ($watch, $dir, $suffix [, ...])
#                                             as files_take, for the files the
#                                             watch announced (all of them
#                                             when it announced none)
#   @name_bytes = IPC::Manager::Core::files_take_announced ($watch, $dir, $suffix [, ...])
#                                             as files_take_watched, but ()
#                                             when it announced none
#   @payloads = IPC::Manager::Core::frames ($buffer [, $decode])
#                                             complete frames, removed from
#                                             $buffer; a final undef when the
#                                             next frame is too large; with
#                                             $decode, a simple message comes
#                                             as the message (see xs/svc.h)
#   @value = IPC::Manager::Core::json_decode ($text)
#                                             (value) when $text is simple
#                                             JSON (see xs/svc.h), else ()
#   $bool = IPC::Manager::Core::msgs_in_order (@msgs)
#                                             whether sort_messages would
#                                             leave them as they are (see
#                                             xs/svc.h)
#   @msg = IPC::Manager::Core::msg_decode ($text)
#                                             (message) when $text is a
#                                             simple message, else ()
#   $frame = IPC::Manager::Core::frame ($payload)
#   ($stamp, $ord) = IPC::Manager::Core::stamp
#                                             the next message stamp of this
#                                             process: the time (microseconds)
#                                             and its tie counter
#   $id = IPC::Manager::Core::msg_put ($buffer, $framed, $from_json, $to_json, $content_json)
#   $id = IPC::Manager::Core::msg_put ($buffer, $framed, $from_json, $to_json, $content, 1)
#   $id = IPC::Manager::Core::msg_put ($buffer, $framed, $from_json, $to_json, $request, 2, $request_id)
#                                             a new message's JSON text (new
#                                             id, next stamp) appended to
#                                             $buffer, as a frame when $framed;
#                                             with 1, undef when $content is
#                                             not simple data (see xs/svc.h);
#                                             with 2, the content is a
#                                             request's, {ipcm_request_id =>
#                                             $request_id, request => $request};
#                                             with 3 (and the request's id), a
#                                             response's, {ipcm_response_id =>
#                                             $request_id, response => $value}
#   $loop = IPC::Manager::Core::Loop->new
#   $res = $loop->wait (\@rfds, \@wfds, \@signums, \@pids, $reap, $timeout [, $sparse])
#                                             with $sparse, only the
#                                             entries that are not empty


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

UV
file_ino (const char *path)
  CODE:
{
  uint64_t ino = 0;
  int r = aef_svc_file_ino (path, &ino);

  if (r)
    errno = -r;
  RETVAL = r ? 0 : (UV)ino;
}
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

SV *
register_entry (const char *kind, const char *path, SV *fh, IV pid, int want_watch = 0)
  CODE:
{
  int k = aef_xs_svc_kind (aTHX_ "IPC::Manager::Core::register_entry", kind);
  int fd, r, watch = -1;

  fd = k == AEF_SVC_ENTRY_DIR ? -1 : aef_xs_fd (aTHX_ fh, "socket");
  r = aef_svc_register (k, path, fd, (long)pid, want_watch ? &watch : NULL);
  if (r)
    {
      errno = -r;
      RETVAL = &PL_sv_undef;
    }
  else
    RETVAL = newSViv (watch);
}
  OUTPUT:
    RETVAL

int
fds_release (...)
  CODE:
{
  int i, fd, r;

  RETVAL = 0;
  for (i = 0; i < items; i++)
    {
      fd = aef_xs_fd (aTHX_ ST (i), "descriptor");
      r = aef_svc_fd_release (fd);
      if (r)
        errno = -r;
      else
        RETVAL++;
    }
}
  OUTPUT:
    RETVAL

void
fork_service (SV *reg, SV *child_drop = &PL_sv_undef, SV *parent_drop = &PL_sv_undef)
  PPCODE:
{
  AV *cd = SvROK (child_drop) && SvTYPE (SvRV (child_drop)) == SVt_PVAV ? (AV *)SvRV (child_drop) : NULL;
  AV *pd = SvROK (parent_drop) && SvTYPE (SvRV (parent_drop)) == SVt_PVAV ? (AV *)SvRV (parent_drop) : NULL;
  int watch;
  pid_t pid = aef_xs_svc_fork (aTHX_ reg, cd, pd, &watch);
  dXSTARG;

  if (pid < 0)
    XSRETURN_UNDEF;
  /* (the op's target: no new scalar written after the fork) */
  XPUSHi ((IV)pid);
  if (!pid && SvOK (reg))
    XPUSHs (watch == -2 ? &PL_sv_undef : sv_2mortal (newSViv (watch)));
}

int
free_is_quiet (SV *ref, IV budget = 256)
  CODE:
    RETVAL = aef_xs_svc_free_is_quiet (aTHX_ ref, budget);
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
file_put (const char *dir, const char *name, SV *data, const char *spare_dir = NULL, AV *spares = NULL)
  CODE:
{
  int step = 0, r = aef_xs_svc_file_put (aTHX_ dir, name, data, spare_dir, spares, &step);

  if (r)
    errno = -r;
  RETVAL = r ? step : 0;
}
  OUTPUT:
    RETVAL

void
files_take (const char *dir, const char *suffix, const char *spare_dir = NULL, AV *spares = NULL, IV max = 0)
  PPCODE:
{
  AV *av = (AV *)sv_2mortal ((SV *)newAV ());
  int r = aef_xs_svc_files_take (aTHX_ -1, 0, dir, suffix, spare_dir, spares, max, av);

  if (r < 0)
    errno = -r;
  SP = aef_xs_push_av (aTHX_ SP, av);
}

void
files_take_watched (SV *watch, const char *dir, const char *suffix, const char *spare_dir = NULL, AV *spares = NULL, IV max = 0)
  ALIAS:
    files_take_announced = 1
  PPCODE:
{
  int wfd = aef_xs_fd (aTHX_ watch, "watch");
  AV *av = (AV *)sv_2mortal ((SV *)newAV ());
  int r = aef_xs_svc_files_take (aTHX_ wfd, ix, dir, suffix, spare_dir, spares, max, av);

  if (r < 0)
    errno = -r;
  SP = aef_xs_push_av (aTHX_ SP, av);
}

void
frames (SV *buf, int decode = 0)
  PPCODE:
{
  int too_large = 0;
  AV *av = aef_xs_svc_frames (aTHX_ buf, decode, &too_large);

  SP = aef_xs_push_av (aTHX_ SP, av);
  if (too_large)
    XPUSHs (&PL_sv_undef);
}

void
json_decode (SV *text)
  ALIAS:
    msg_decode = 1
  PPCODE:
{
  STRLEN len;
  /* (a character string's bytes: its characters above ASCII make the
   * decoder decline, as it does for any byte above 0x7f) */
  const char *s = SvPV (text, len);
  SV *v = ix ? aef_xs_svc_msg_decode (aTHX_ s, len) : aef_xs_svc_json_decode (aTHX_ s, len);

  if (v)
    mXPUSHs (v);
}

int
msgs_in_order (...)
  CODE:
    RETVAL = aef_xs_svc_msgs_in_order (aTHX_ &ST (0), items);
  OUTPUT:
    RETVAL

SV *
frame (SV *payload)
  CODE:
    RETVAL = aef_xs_svc_frame (aTHX_ payload);
  OUTPUT:
    RETVAL

void
stamp ()
  PPCODE:
{
  NV sec;
  UV ord;

  aef_xs_svc_stamp (aTHX_ &sec, &ord);
  EXTEND (SP, 2);
  mPUSHn (sec);
  mPUSHu (ord);
}

SV *
msg_put (SV *buf, int framed, SV *from, SV *to, SV *content, int data = 0, SV *rid = &PL_sv_undef)
  CODE:
{
  SV *id = aef_xs_svc_msg_put (aTHX_ buf, framed, from, to, content, data, rid);

  RETVAL = id ? id : newSV (0);
}
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
wait (IPC::Manager::Core::Loop loop, AV *rfds, AV *wfds, AV *sigs, AV *watch, int reap, NV timeout, int sparse = 0)
  CODE:
    RETVAL = aef_xs_svc_wait (aTHX_ loop, rfds, wfds, sigs, watch, reap, timeout, sparse);
  OUTPUT:
    RETVAL
