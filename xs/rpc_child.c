/*
 * rpc_child.c - the worker side of AnyEvent::Fork::RPC (see rpc_child.h).
 *
 * One backend runs per process, so its state is this file's single
 * aef_xs_child, around the core's child endpoint (aef_rpc_child). The
 * synchronous loop runs in the core (aef_rpc_sync_serve) and calls back
 * into sync_handler__. The asynchronous backend is driven the way the
 * parent is: its AnyEvent watchers are made here, with XSUBs as their
 * callbacks (async_rcb__, async_wcb__).
 *
 * Every call into Perl is made under G_EVAL; an exception is rethrown only
 * in the XSUB that was entered from Perl (or from the event loop).
 */
#include "util.h"
#include "rpc_codec.h"
#include "rpc_child.h"
#include "aef_rpc.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct aef_xs_child {
  SV *func;           /* the RPC function */
  aef_xs_codec codec; /* the serialiser */
  aef_rpc_child ep;   /* the connection */
  pid_t serving;      /* Sync: the process whose loop runs (its output is
                       * flushed at exit, not by a fork of it) */
  IV busy;            /* Async: 1 (until end-of-file) + requests whose
                       * done-callback is due */
  SV *rfh, *wfh;      /* Async: the handles */
  SV *rw, *ww;        /* Async: AnyEvent watchers */
  CV *rcb, *wcb;      /* Async: their callbacks */
  SV *done;           /* Async: called once everything is answered */
  SV *fail;           /* Async: called with the text of a fatal error */
  CV *spare;          /* Async: a done-callback nobody holds any more */
} aef_xs_child;

static aef_xs_child child__;

/* handler result of aef_rpc_sync_serve: a Perl call died */
#define AEF_XS_SYNC_DIED 1

/* The backend's state: hdr is the request header's size. */
static void
child_init__ (pTHX_ int rfd, int wfd, size_t rlen, SV *func, SV *serialiser, SV *freeze, SV *thaw, unsigned hdr)
{
  aef_xs_child *c = &child__;

  c->func = newSVsv (func);
  aef_xs_codec_init (aTHX_ &c->codec, serialiser, freeze, thaw);
  aef_rpc_child_init (&c->ep, rfd, wfd, hdr, rlen);
  /* large requests straight into their strings, whose buffers are reused */
  aef_xs_codec_split (&c->codec, &c->ep.in);
  c->codec.recycle = 1;
  c->busy = 1;
}

/* Queue one frame with a payload whose size was checked. 0, -ENOMEM. */
static int
child_queue__ (pTHX_ aef_rpc_child *ep, uint32_t id, const aef_xs_payload *pl)
{
  int rc = aef_rpc_child_begin (ep, id, pl->size);

  if (!rc)
    {
      aef_xs_payload_put (aTHX_ pl, &ep->out);
      aef_rpc_child_end (ep); /* the size was checked */
    }
  return rc;
}

/* Queue one frame with the serialised args. Croaks: only for XSUBs entered
 * from Perl. */
static void
child_frame__ (pTHX_ uint32_t id, SV **args, I32 n)
{
  aef_xs_child *c = &child__;
  aef_xs_payload pl;
  int rc;

  if (aef_xs_freeze (aTHX_ &c->codec, args, n, &pl))
    aef_xs_rethrow (aTHX);
  if ((uint64_t)pl.size > AEF_RPC_MAX)
    aef_xs_croak_size (aTHX_ id ? "response" : "event", pl.size);

  rc = child_queue__ (aTHX_ &c->ep, id, &pl);
  if (rc)
    croak ("AnyEvent::Fork::RPC: cannot queue %s: %" SVf, id ? "response" : "event",
           SVfARG (aef_xs_strerror (aTHX_ -rc)));
}

/* ------------------------------------------------------------------------ */
/* Sync                                                                      */

/* Sync: write a large response straight from the values' own buffers (no
 * copy into the output buffer). 0, -errno, or 1 when it has too many
 * pieces for one writev: the caller copies it instead. */
#define AEF_XS_PIECES 64

static int
sync_writev__ (pTHX_ const aef_xs_payload *pl, aef_rpc_child *ep)
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

  rc = aef_rpc_child_writev (ep, iov, n);
  aef_buf_free (&bers);
  return rc;
}

/* Sync: one request. Runs inside aef_rpc_sync_serve, so nothing here may
 * croak: every Perl call is made under G_EVAL. 0, AEF_XS_SYNC_DIED ($@
 * set), -E2BIG, -ENOMEM or a write's -errno. */
static int
sync_handler__ (void *ctx, const uint8_t *p, size_t len, aef_rpc_child *ep)
{
  dTHX;
  aef_xs_child *c = (aef_xs_child *)ctx;
  int rc = 0;
  dSP;

  ENTER;
  SAVETMPS;
  PUSHMARK (SP);
  PUTBACK;

  if (aef_xs_thaw (aTHX_ &c->codec, p, len, &c->ep.in))
    {
      aef_xs_popmark (aTHX);
      rc = AEF_XS_SYNC_DIED;
    }
  else
    {
      I32 count = call_sv (c->func, G_ARRAY | G_EVAL);
      aef_xs_payload pl;

      /* the results stay on the stack while they are serialised */
      if (AEF_XS_DIED
          || aef_xs_freeze (aTHX_ &c->codec, PL_stack_sp - count + 1, count, &pl))
        rc = AEF_XS_SYNC_DIED;
      else if ((uint64_t)pl.size > AEF_RPC_MAX)
        rc = -E2BIG;
      else if (pl.size < AEF_RPC_HUGE || (rc = sync_writev__ (aTHX_ &pl, ep)) == 1)
        rc = child_queue__ (aTHX_ ep, 1, &pl);

      PL_stack_sp -= count;
    }

  FREETMPS;
  LEAVE;
  aef_xs_codec_reclaim (aTHX_ &c->codec, &ep->in);

  return rc;
}

void
aef_xs_flush_stdout (pTHX)
{
  PerlIO_flush (PerlIO_stdout ());
}

void
aef_xs_sync_serve (pTHX_ int rfd, int wfd, UV rlen, SV *func, SV *serialiser, SV *freeze, SV *thaw)
{
  aef_xs_child *c = &child__;
  int rc;

  child_init__ (aTHX_ rfd, wfd, rlen, func, serialiser, freeze, thaw, AEF_RPC_HDR_SYNC);
  c->serving = getpid ();
  rc = aef_rpc_sync_serve (&c->ep, sync_handler__, c);
  c->serving = 0;
  aef_rpc_child_free (&c->ep);

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
  rc = aef_rpc_child_flush (&child__.ep);
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
    aef_rpc_child_flush (&child__.ep);
}

/* ------------------------------------------------------------------------ */
/* Async                                                                     */

static void async_done__ (pTHX_ CV *cv);

/* Every complete request: $function->($done, @args). 0, or -1 when the
 * function (or thaw) died ($@ set; the requests after it stay buffered). */
static int
async_dispatch__ (pTHX)
{
  aef_xs_child *c = &child__;
  const uint8_t *p;
  uint32_t id;
  size_t len;

  while (aef_rpc_child_next (&c->ep, &id, &p, &len))
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
      CvXSUBANY (done).any_iv = id;
      rv = sv_2mortal (newRV_noinc ((SV *)done));
      PUSHMARK (SP);
      XPUSHs (rv);
      PUTBACK;

      rc = aef_xs_thaw (aTHX_ &c->codec, p, len, &c->ep.in);
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
      aef_xs_codec_reclaim (aTHX_ &c->codec, &c->ep.in);

      if (rc)
        return -1;
    }

  return 0;
}

/* A fatal error: stop both watchers, then fail->(text). 0, or -1 when
 * that died ($@ set). */
static int
async_fail__ (pTHX_ SV *text)
{
  aef_xs_child *c = &child__;
  SV *rw = c->rw, *ww = c->ww;

  c->rw = c->ww = NULL;
  SvREFCNT_dec (rw);
  SvREFCNT_dec (ww);
  return aef_xs_call1 (aTHX_ c->fail, text);
}

/* Make sure the write watcher exists. 0, or -1 when AnyEvent died ($@). */
static int
async_arm__ (pTHX)
{
  aef_xs_child *c = &child__;

  if (!c->ww && !(c->ww = aef_xs_io (aTHX_ c->wfh, 1, c->wcb)))
    return -1;
  return 0;
}

/* The read watcher's work: one read, then every complete request. At
 * end-of-file the reader stops; the writer finishes once every request is
 * answered. */
static void
async_rcb__ (pTHX_ CV *cv)
{
  dXSARGS;
  aef_xs_child *c = &child__;
  int rc;

  PERL_UNUSED_VAR (items);
  PERL_UNUSED_ARG (cv);

  /* requests left behind by a function that died last time come first */
  rc = async_dispatch__ (aTHX);

  if (!rc)
    {
      ssize_t n = aef_rpc_child_read (&c->ep);

      if (n > 0)
        {
          rc = async_dispatch__ (aTHX);
          if (!rc)
            aef_rpc_child_trim (&c->ep);
        }
      else if (n == 0 || n == -EINVAL)
        {
          SV *rw = c->rw;

          c->rw = NULL;
          SvREFCNT_dec (rw);
          c->busy--;
          rc = async_arm__ (aTHX);
        }
      else if (n != -EAGAIN)
        rc = async_fail__ (aTHX_ sv_2mortal (newSVpvf ("AnyEvent::Fork::RPC: read error in child: %" SVf,
                                                       SVfARG (aef_xs_strerror (aTHX_ -(int)n)))));
    }

  if (rc)
    aef_xs_rethrow (aTHX);
  XSRETURN_EMPTY;
}

/* The write watcher's work: one write; once drained, the watcher goes, and
 * when nothing is due any more the worker finishes: perl's STDOUT buffer
 * is flushed, the socket half-closed and done called. */
static void
async_wcb__ (pTHX_ CV *cv)
{
  dXSARGS;
  aef_xs_child *c = &child__;
  ssize_t left = aef_rpc_child_write (&c->ep);
  int rc = 0;

  PERL_UNUSED_VAR (items);
  PERL_UNUSED_ARG (cv);

  if (left < 0)
    rc = async_fail__ (aTHX_ sv_2mortal (newSVpvf ("AnyEvent::Fork::RPC: write error (%" SVf "), parent gone?",
                                                   SVfARG (aef_xs_strerror (aTHX_ -(int)left)))));
  else if (left == 0)
    {
      SV *ww = c->ww;

      c->ww = NULL;
      SvREFCNT_dec (ww);

      if (!c->busy)
        {
          /* the parent may be done once it sees end-of-file: our output first */
          aef_xs_flush_stdout (aTHX);
          shutdown (c->ep.wfd, SHUT_WR);
          rc = aef_xs_call1 (aTHX_ c->done, NULL);
        }
    }

  if (rc)
    aef_xs_rethrow (aTHX);
  XSRETURN_EMPTY;
}

/* the done-callback of one request */
static void
async_done__ (pTHX_ CV *cv)
{
  dXSARGS;

  child__.busy--;
  child_frame__ (aTHX_ CvXSUBANY (cv).any_iv, &ST (0), items);
  if (async_arm__ (aTHX))
    aef_xs_rethrow (aTHX);
  XSRETURN_EMPTY;
}

void
aef_xs_async_start (pTHX_ SV *rfh, SV *wfh, UV rlen, SV *func, SV *serialiser, SV *freeze, SV *thaw,
                    SV *done, SV *fail)
{
  aef_xs_child *c = &child__;
  int rfd = aef_xs_fd (aTHX_ rfh, "rfh"), wfd = aef_xs_fd (aTHX_ wfh, "wfh");

  if (c->rcb)
    croak ("AnyEvent::Fork::RPC::Async: already running");

  child_init__ (aTHX_ rfd, wfd, rlen, func, serialiser, freeze, thaw, AEF_RPC_HDR);
  aef_set_nonblock (rfd, 1);
  aef_set_nonblock (wfd, 1);
  c->rfh = newSVsv (rfh);
  c->wfh = newSVsv (wfh);
  c->done = newSVsv (done);
  c->fail = newSVsv (fail);
  c->rcb = newXS (NULL, async_rcb__, __FILE__);
  c->wcb = newXS (NULL, async_wcb__, __FILE__);

  if (!(c->rw = aef_xs_io (aTHX_ c->rfh, 0, c->rcb)))
    aef_xs_rethrow (aTHX);
}

void
aef_xs_async_event (pTHX_ SV **args, I32 n)
{
  child_frame__ (aTHX_ 0, args, n);
  if (async_arm__ (aTHX))
    aef_xs_rethrow (aTHX);
}

int
aef_xs_async_flush (pTHX)
{
  return aef_rpc_child_flush (&child__.ep) == 0;
}
