/*
 * rpc_child.c - the worker side of AnyEvent::Fork::RPC (see rpc_child.h).
 *
 * One backend runs per process, so its state is this file's single
 * aef_xs_child. The synchronous loop runs in the core
 * (aef_rpc_sync_serve) and calls back into sync_handler__; the
 * asynchronous backend's watchers call async_read / async_write.
 *
 * Every call into Perl is made under G_EVAL; an exception is rethrown only
 * in the XSUB that was entered from Perl.
 */
#include "util.h"
#include "rpc_codec.h"
#include "rpc_child.h"
#include "aef_rpc.h"

#include <sys/uio.h>
#include <unistd.h>

typedef struct aef_xs_child {
  SV *func;           /* the RPC function */
  SV *freeze, *thaw;
  int fast;
  aef_rpc_sync sync;  /* Sync: the loop's state; Async: descriptors, buffers */
  pid_t serving;      /* Sync: the process whose loop runs (its output is
                       * flushed at exit, not by a fork of it) */
  IV busy;            /* Async: 1 + requests whose done-callback is due */
  SV *arm;            /* Async: creates the write watcher */
  int armed;
  CV *spare;          /* Async: a done-callback nobody holds any more */
} aef_xs_child;

static aef_xs_child child__;

/* handler result of aef_rpc_sync_serve: a Perl call died */
#define AEF_XS_SYNC_DIED 1

/* The backend's state; the Async backend reuses the Sync loop's buffers:
 * sync.in reads "NN/a*" requests there. */
static void
child_init__ (pTHX_ int rfd, int wfd, size_t rlen, SV *func, int fast, SV *freeze, SV *thaw, unsigned hdr)
{
  aef_xs_child *c = &child__;

  c->func = newSVsv (func);
  c->fast = fast;
  c->freeze = newSVsv (freeze);
  c->thaw = newSVsv (thaw);
  aef_rpc_sync_init (&c->sync, rfd, wfd, rlen);
  c->sync.in.hdr = hdr;
  c->busy = 1;
}

/* Append one "NN/a*" frame with the serialised args to the child's output
 * buffer. Croaks: only for XSUBs entered from Perl. */
static void
child_frame__ (pTHX_ uint32_t id, SV **args, I32 n)
{
  aef_xs_child *c = &child__;
  aef_xs_payload pl;
  size_t mark;
  int rc;

  if (aef_xs_freeze (aTHX_ c->freeze, c->fast, args, n, &pl))
    aef_xs_rethrow (aTHX);
  if ((uint64_t)pl.size > AEF_RPC_MAX)
    aef_xs_croak_size (aTHX_ id ? "response" : "event", pl.size);

  rc = aef_rpc_frame_begin (&c->sync.out, AEF_RPC_HDR, id, pl.size, &mark);
  if (rc)
    croak ("AnyEvent::Fork::RPC: cannot queue %s: %" SVf, id ? "response" : "event",
           SVfARG (aef_xs_strerror (aTHX_ -rc)));
  aef_xs_payload_put (aTHX_ &pl, &c->sync.out);
  aef_rpc_frame_end (&c->sync.out, AEF_RPC_HDR, mark); /* the size was checked */
}

/* Sync: write a large response straight from the values' own buffers (no
 * copy into the output buffer). 0, -errno, or 1 when it has too many
 * pieces for one writev: the caller copies it instead. */
#define AEF_XS_PIECES 64

static int
sync_writev__ (pTHX_ const aef_xs_payload *pl, aef_rpc_sync *s)
{
  struct iovec iov[1 + 2 * AEF_XS_PIECES];
  uint8_t hdr[AEF_RPC_HDR];
  size_t at[AEF_XS_PIECES + 1];
  aef_buf bers;
  int n = 0, rc;
  I32 i;

  if (!pl->p && pl->n > AEF_XS_PIECES)
    return 1;

  aef_rpc_header (hdr, 1, (uint32_t)pl->size); /* the size was checked */
  iov[n].iov_base = hdr;
  iov[n++].iov_len = AEF_RPC_HDR;
  aef_buf_init (&bers, SIZE_MAX);

  if (pl->p)
    {
      iov[n].iov_base = (void *)pl->p;
      iov[n++].iov_len = pl->len;
    }
  else
    {
      /* the BER lengths first (the buffer may move while it grows) */
      for (i = 0; i < pl->n; i++)
        {
          STRLEN len = 0;

          if (SvOK (pl->args[i]))
            (void)SvPV_nomg (pl->args[i], len);
          at[i] = aef_buf_size (&bers);
          if ((rc = aef_ber_put (&bers, len)))
            {
              aef_buf_free (&bers);
              return rc;
            }
        }
      at[i] = aef_buf_size (&bers);

      for (i = 0; i < pl->n; i++)
        {
          STRLEN len = 0;
          const char *str = "";

          if (SvOK (pl->args[i]))
            str = SvPV_nomg (pl->args[i], len);
          iov[n].iov_base = aef_buf_ptr (&bers) + at[i];
          iov[n++].iov_len = at[i + 1] - at[i];
          iov[n].iov_base = (void *)str;
          iov[n++].iov_len = len;
        }
    }

  rc = aef_rpc_sync_writev (s, iov, n);
  aef_buf_free (&bers);
  return rc;
}

/* Sync: one request. Runs inside aef_rpc_sync_serve, so nothing here may
 * croak: every Perl call is made under G_EVAL. 0, AEF_XS_SYNC_DIED ($@
 * set), -E2BIG, -ENOMEM or a write's -errno. */
static int
sync_handler__ (void *ctx, const uint8_t *p, size_t len, aef_rpc_sync *s)
{
  dTHX;
  aef_xs_child *c = (aef_xs_child *)ctx;
  int rc = 0;
  dSP;

  ENTER;
  SAVETMPS;
  PUSHMARK (SP);
  PUTBACK;

  if (aef_xs_thaw (aTHX_ c->thaw, c->fast, p, len))
    {
      aef_xs_popmark (aTHX);
      rc = AEF_XS_SYNC_DIED;
    }
  else
    {
      I32 count = call_sv (c->func, G_LIST | G_EVAL);
      aef_xs_payload pl;
      size_t mark;

      /* the results stay on the stack while they are serialised */
      if (AEF_XS_DIED
          || aef_xs_freeze (aTHX_ c->freeze, c->fast, PL_stack_sp - count + 1, count, &pl))
        rc = AEF_XS_SYNC_DIED;
      else if ((uint64_t)pl.size > AEF_RPC_MAX)
        rc = -E2BIG;
      else if (pl.size < AEF_RPC_HUGE || (rc = sync_writev__ (aTHX_ &pl, s)) == 1)
        {
          rc = aef_rpc_frame_begin (&s->out, AEF_RPC_HDR, 1, pl.size, &mark);
          if (!rc)
            {
              aef_xs_payload_put (aTHX_ &pl, &s->out);
              aef_rpc_frame_end (&s->out, AEF_RPC_HDR, mark); /* the size was checked */
            }
        }

      PL_stack_sp -= count;
    }

  FREETMPS;
  LEAVE;

  return rc;
}

/* Async: every complete request: $function->($done, @args). 0, or -1 when
 * the function (or thaw) died ($@ set). */
static void async_done__ (pTHX_ CV *cv);

static int
async_dispatch__ (pTHX)
{
  aef_xs_child *c = &child__;
  const uint8_t *p;
  uint32_t id;
  size_t len;

  while (aef_rpc_reader_next (&c->sync.in, &id, &p, &len))
    {
      dSP;
      CV *done = c->spare;
      SV *rv;
      int rc;

      ENTER;
      SAVETMPS;
      if (done)
        c->spare = NULL;
      else
        done = newXS (NULL, async_done__, __FILE__);
      CvXSUBANY (done).any_u32 = id;
      rv = sv_2mortal (newRV_noinc ((SV *)done));
      PUSHMARK (SP);
      XPUSHs (rv);
      PUTBACK;

      rc = aef_xs_thaw (aTHX_ c->thaw, c->fast, p, len);
      if (rc)
        aef_xs_popmark (aTHX);
      else
        {
          c->busy++;
          call_sv (c->func, G_VOID | G_DISCARD | G_EVAL);
          rc = AEF_XS_DIED ? -1 : 0;
        }

      /* nobody kept the callback (it was called at once, as a rule): it
       * can serve the next request instead of a new one */
      if (SvREFCNT (rv) == 1 && SvREFCNT (done) == 1 && !c->spare)
        c->spare = (CV *)SvREFCNT_inc_simple_NN (done);

      FREETMPS;
      LEAVE;

      if (rc)
        return -1;
    }

  return 0;
}

/* Async: make sure the write watcher exists. Croaks (XSUBs only). */
static void
async_arm__ (pTHX)
{
  aef_xs_child *c = &child__;

  if (c->armed)
    return;
  c->armed = 1;
  if (aef_xs_call1 (aTHX_ c->arm, NULL))
    {
      c->armed = 0;
      aef_xs_rethrow (aTHX);
    }
}

/* the done-callback of one request */
static void
async_done__ (pTHX_ CV *cv)
{
  dXSARGS;

  child__.busy--;
  child_frame__ (aTHX_ CvXSUBANY (cv).any_u32, &ST (0), items);
  async_arm__ (aTHX);
  XSRETURN_EMPTY;
}

void
aef_xs_flush_stdout (pTHX)
{
  PerlIO_flush (PerlIO_stdout ());
}

void
aef_xs_sync_serve (pTHX_ int rfd, int wfd, UV rlen, SV *func, int fast, SV *freeze, SV *thaw)
{
  aef_xs_child *c = &child__;
  int rc;

  child_init__ (aTHX_ rfd, wfd, rlen, func, fast, freeze, thaw, AEF_RPC_HDR_SYNC);
  c->serving = getpid ();
  rc = aef_rpc_sync_serve (&c->sync, sync_handler__, c);
  c->serving = 0;
  aef_rpc_sync_free (&c->sync);

  if (rc == AEF_XS_SYNC_DIED)
    aef_xs_rethrow (aTHX);
  if (rc == -E2BIG)
    croak ("AnyEvent::Fork::RPC::Sync: response too large (more than 4294967295 octets)");
  if (rc == -ENOMEM || rc == -EMSGSIZE)
    croak ("AnyEvent::Fork::RPC::Sync: cannot buffer request (%" SVf ")",
           SVfARG (aef_xs_strerror (aTHX_ -rc)));
  if (rc)
    croak ("AnyEvent::Fork::RPC::Sync: write error (%" SVf "), parent gone?",
           SVfARG (aef_xs_strerror (aTHX_ -rc)));
}

void
aef_xs_sync_event (pTHX_ SV **args, I32 n)
{
  int rc;

  child_frame__ (aTHX_ 0, args, n);
  /* written at once, after the responses queued before it */
  rc = aef_rpc_sync_flush (&child__.sync);
  if (rc)
    croak ("AnyEvent::Fork::RPC::Sync: write error (%" SVf "), parent gone?",
           SVfARG (aef_xs_strerror (aTHX_ -rc)));
}

void
aef_xs_sync_exit (pTHX)
{
  /* the process exits from inside the function: what was answered before
   * still reaches the parent (errors do not matter any more) */
  if (child__.serving == getpid ())
    aef_rpc_sync_flush (&child__.sync);
}

void
aef_xs_async_setup (pTHX_ int rfd, int wfd, UV rlen, SV *func, int fast, SV *freeze, SV *thaw, SV *arm)
{
  child_init__ (aTHX_ rfd, wfd, rlen, func, fast, freeze, thaw, AEF_RPC_HDR);
  child__.arm = newSVsv (arm);
  aef_set_nonblock (rfd, 1);
  aef_set_nonblock (wfd, 1);
}

int
aef_xs_async_read (pTHX)
{
  aef_xs_child *c = &child__;
  ssize_t n;

  /* requests left behind by a function that died last time come first */
  if (async_dispatch__ (aTHX))
    aef_xs_rethrow (aTHX);

  n = aef_rpc_reader_fill (&c->sync.in, c->sync.rfd);

  if (n > 0)
    {
      if (async_dispatch__ (aTHX))
        aef_xs_rethrow (aTHX);
      aef_rpc_reader_trim (&c->sync.in);
      return 1;
    }
  if (n == -EAGAIN)
    return 1;
  if (n == 0 || n == -EINVAL)
    return 0;
  errno = -(int)n;
  return -1;
}

IV
aef_xs_async_write (pTHX)
{
  aef_xs_child *c = &child__;
  ssize_t left = aef_rpc_sync_write (&c->sync);

  if (left == 0)
    c->armed = 0;

  if (left < 0)
    {
      errno = -(int)left;
      return -1;
    }
  return left;
}

void
aef_xs_async_arm (pTHX)
{
  async_arm__ (aTHX);
}

void
aef_xs_async_event (pTHX_ SV **args, I32 n)
{
  child_frame__ (aTHX_ 0, args, n);
  async_arm__ (aTHX);
}

int
aef_xs_async_flush (pTHX)
{
  return aef_rpc_buf_flush (&child__.sync.out, child__.sync.wfd) == 0;
}

IV
aef_xs_async_busy (pTHX_ IV delta)
{
  return child__.busy += delta;
}
