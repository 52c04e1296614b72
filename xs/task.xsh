# Task glue (XS part), owned by the AnyEvent::Task work (see xs/task.h).
# No line of this comment may start with a preprocessor word: xsubpp keeps
# those. The methods:
#
#   $s = AnyEvent::Task::Split->new ($max)   a JSON-stream splitter
#   $n = $s->fill ($fh)      read one chunk: bytes, 0 at EOF, undef + $!
#   $s->feed ($bytes)        add bytes (croaks when they break the bound)
#   $m = $s->next            the next whole message, undef when more bytes
#                            are needed, "" when the stream is corrupt
#   $l = AnyEvent::Task::Server::Worker::Loop->new ($fh, $alarm)
#   $m = $l->next            blocks for the next message (hung-worker
#                            alarm); undef + $! at EOF or on a corrupt stream
#   $ok = $l->write ($bytes) the whole reply, blocking; false + $! on error
#   $ok = AnyEvent::Task::Server::Worker::_release (@fds)
#                            gives the descriptors up (the null device
#                            takes their place); false + $! on error
#   $ok = AnyEvent::Task::Util::_release_all_but (@fds_to_keep)
#   $ok = AnyEvent::Task::Server::Worker::_hand_send ($sock, $fh, $n)
#                            hands a connection and its number to the forker
#   ($fd, $n) = AnyEvent::Task::Server::Worker::_forker_next ($sock)
#                            the forker's loop: returns in each worker it
#                            forks, its connection and number; () + $! in
#                            the forker when the server is gone, and in a
#                            spare that is let go
#   AnyEvent::Task::Server::Worker::_exit_now ($status)
#                            _exit without a lazily bound symbol
#   AnyEvent::Task::Client::_on_read ($client, $w)
#                            the read handler of a worker's connection
#                            (see xs/task.h)
#   $code = AnyEvent::Task::Client::Checkout::_code ($checkout, $record, \$json, \@here, \*top)
#                            the code ref $checkout->(...) calls (see
#                            xs/task.h)
#   $code = AnyEvent::Task::Client::Checkout::_deref ($checkout, ...)
#                            its &{} overload: $checkout->{code}, or
#                            _make_code ($checkout)

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Task::Split

PROTOTYPES: DISABLE

SV *
new (SV *klass, UV max = 0)
  CODE:
    RETVAL = aef_xs_task_split_new (aTHX_ klass, max);
  OUTPUT: RETVAL

SV *
fill (AnyEvent::Task::Split self, SV *fh)
  CODE:
{
  int fd = aef_xs_fd (aTHX_ fh, "AnyEvent::Task::Split::fill");
  long n = aef_xs_task_split_fill (aTHX_ self, fd);

  if (n < 0)
    {
      AEF_XS_ERRNO (n);
      XSRETURN_UNDEF;
    }
  RETVAL = newSViv (n);
}
  OUTPUT: RETVAL

void
feed (AnyEvent::Task::Split self, SV *bytes)
  CODE:
{
  STRLEN len;
  const char *p = SvPVbyte (bytes, len);

  while (len)
    {
      size_t k = len > AEF_TASK_CHUNK ? AEF_TASK_CHUNK : len;
      int rc = aef_task_split_feed (self, p, k);

      if (rc < 0)
        croak ("AnyEvent::Task::Split::feed: %s", Strerror (-rc));
      p += k;
      len -= k;
    }
}

void
next (AnyEvent::Task::Split self)
  PPCODE:
    ST (0) = aef_xs_task_split_take (aTHX_ self);
    XSRETURN (1);

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Task::Server::Worker::Loop

SV *
new (SV *klass, SV *fh, UV alarm_secs = 0)
  CODE:
{
  int fd = aef_xs_fd (aTHX_ fh, "AnyEvent::Task::Server::Worker::Loop::new");

  RETVAL = aef_xs_task_loop_new (aTHX_ klass, fd, alarm_secs > UINT_MAX ? UINT_MAX : (unsigned)alarm_secs);
  if (RETVAL == &PL_sv_undef)
    XSRETURN_UNDEF;
}
  OUTPUT: RETVAL

void
next (AnyEvent::Task::Server::Worker::Loop self)
  PPCODE:
{
  const uint8_t *m;
  size_t len;
  int rc = aef_task_worker_next (self, &m, &len);

  if (rc < 0)
    {
      AEF_XS_ERRNO (rc);
      XSRETURN_UNDEF;
    }
  ST (0) = sv_2mortal (newSVpvn ((const char *)m, len));
  XSRETURN (1);
}

int
write (AnyEvent::Task::Server::Worker::Loop self, SV *bytes)
  CODE:
{
  STRLEN len;
  const char *p = SvPVbyte (bytes, len);
  int rc = aef_task_worker_write (self, p, len);

  if (rc < 0)
    {
      AEF_XS_ERRNO (rc);
      XSRETURN_NO;
    }
  RETVAL = 1;
}
  OUTPUT: RETVAL

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Task::Server::Worker

int
_release (...)
  CODE:
{
  int fds[16];
  int rc;
  I32 i;

  if (items > 16)
    croak ("AnyEvent::Task::Server::Worker::_release: too many descriptors");
  for (i = 0; i < items; i++)
    fds[i] = aef_xs_fd (aTHX_ ST (i), "AnyEvent::Task::Server::Worker::_release");
  rc = aef_task_release_fds (fds, (size_t)items);
  if (rc < 0)
    {
      AEF_XS_ERRNO (rc);
      XSRETURN_NO;
    }
  RETVAL = 1;
}
  OUTPUT: RETVAL

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Task::Util

int
_release_all_but (...)
  CODE:
{
  int fds[64];
  int rc;
  I32 i;

  if (items > 64)
    croak ("AnyEvent::Task::Util::_release_all_but: too many descriptors");
  for (i = 0; i < items; i++)
    fds[i] = aef_xs_fd (aTHX_ ST (i), "AnyEvent::Task::Util::_release_all_but");
  rc = aef_task_release_all_but (fds, (size_t)items);
  if (rc < 0)
    {
      AEF_XS_ERRNO (rc);
      XSRETURN_NO;
    }
  RETVAL = 1;
}
  OUTPUT: RETVAL

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Task::Server::Worker

int
_hand_send (SV *sock, SV *fh, UV n)
  CODE:
{
  int s = aef_xs_fd (aTHX_ sock, "AnyEvent::Task::Server::Worker::_hand_send");
  int fd = aef_xs_fd (aTHX_ fh, "AnyEvent::Task::Server::Worker::_hand_send");
  int rc = aef_task_hand_send (s, fd, (uint64_t)n);

  if (rc < 0)
    {
      AEF_XS_ERRNO (rc);
      XSRETURN_NO;
    }
  RETVAL = 1;
}
  OUTPUT: RETVAL

void
_forker_next (SV *sock)
  PPCODE:
{
  int s = aef_xs_fd (aTHX_ sock, "AnyEvent::Task::Server::Worker::_forker_next");
  int fd;
  UV n;
  int rc = aef_xs_task_forker_next (aTHX_ s, &fd, &n);

  if (rc < 0)
    AEF_XS_ERRNO (rc);
  else
    {
      EXTEND (SP, 2);
      mPUSHi (fd);
      mPUSHu (n);
    }
}

void
_exit_now (int status)
  CODE:
    aef_task_exit (status);

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Task::Client::Checkout

SV *
_code (SV *checkout, SV *record, SV *json, SV *here, SV *top)
  CODE:
    RETVAL = aef_xs_task_code_new (aTHX_ checkout, record, json, here, top);
  OUTPUT: RETVAL

void
_deref (SV *checkout, ...)
  CODE:
    /* (_make_code may move the stack: ST stays valid) */
    ST (0) = aef_xs_task_deref (aTHX_ checkout);
    XSRETURN (1);

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Task::Client

void
_on_read (SV *client, SV *worker)
  CODE:
    aef_xs_task_on_read (aTHX_ client, worker);
