# Glue of AnyEvent::Fork's descriptor and process primitives (XSUBs; the C
# part is fork.c). Failures set $! and return false, -1 or an empty list.

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Core

PROTOTYPES: DISABLE

void
socketpair ()
  PPCODE:
{
  int fds[2];
  int rc = aef_socketpair (fds);

  if (rc < 0)
    AEF_XS_ERRNO (rc);
  else
    {
      EXTEND (SP, 2);
      mPUSHi (fds[0]);
      mPUSHi (fds[1]);
    }
}

int
set_nonblock (aef_fd fd, int on)
  CODE:
{
  int rc = aef_set_nonblock (fd, on);

  if (rc < 0)
    AEF_XS_ERRNO (rc);

  RETVAL = rc == 0;
}
  OUTPUT: RETVAL

int
set_cloexec (aef_fd fd, int on)
  CODE:
{
  int rc = aef_set_cloexec (fd, on);

  if (rc < 0)
    AEF_XS_ERRNO (rc);

  RETVAL = rc == 0;
}
  OUTPUT: RETVAL

int
fd_send (aef_fd sock, aef_fd fd)
  CODE:
{
  int rc = aef_fd_send (sock, fd);

  if (rc < 0)
    AEF_XS_ERRNO (rc);

  RETVAL = rc == 0;
}
  OUTPUT: RETVAL

int
fd_recv (aef_fd sock)
  CODE:
{
  int fd;
  int rc = aef_fd_recv (sock, &fd);

  if (rc < 0)
    {
      AEF_XS_ERRNO (rc);
      fd = -1;
    }

  RETVAL = fd;
}
  OUTPUT: RETVAL

IV
spawn (SV *path, AV *argv, AV *envp, aef_fd keep, bool as_stdio = 0)
  CODE:
  RETVAL = aef_xs_spawn (aTHX_ path, argv, envp, keep, as_stdio);
  OUTPUT: RETVAL
