/*
 * rpc_parent.c - the parent side of AnyEvent::Fork::RPC (see rpc_parent.h).
 *
 * AnyEvent::Fork::RPC::run makes one aef_xs_rpc (a Perl object of class
 * AnyEvent::Fork::RPC::Core) that owns the C state, the user's callbacks
 * and the AnyEvent watchers. The watchers call XSUBs made here: one call
 * per readiness reads, parses and dispatches every complete frame. The RPC
 * object handed to the user is an anonymous XSUB whose free-magic is the
 * shutdown guard.
 *
 * Every call into Perl is made under G_EVAL. A Perl exception is caught,
 * carried back as a return value through the C frames, and rethrown only
 * in the XSUB that was entered from Perl.
 */
#include "util.h"
#include "rpc_codec.h"
#include "rpc_parent.h"
#include "closure.h"
#include "aef_rpc.h"

#define AEF_XS_RPC_CLASS "AnyEvent::Fork::RPC::Core"

struct aef_xs_rpc {
  aef_rpc core;
  SV *obj;            /* the object's inner SV (not counted) */
  SV *keep;           /* counted reference to obj while the reader runs */
  aef_xs_codec codec; /* the serialiser */
  SV *on_event, *on_error, *on_destroy;
  SV *fh;             /* the socket, once connected */
  SV *rw, *ww;        /* AnyEvent watchers */
  SV *again;          /* one-shot timer: dispatch what a dying callback left */
  CV *rcb, *wcb;      /* their callbacks: XSUBs pointing back here */
  int stopped;        /* reader stopped: end-of-file or a transport error */
  unsigned long turn; /* aef_xs_rpc_turn__ at the last eager write */
  int eager;          /* eager writes in that turn */
  int werr;           /* -errno of an eager write, reported by the writer */
  int pending;        /* on the list written before the loop waits (EV) */
  int held;           /* on the list written when the hold ends */
};

/* turns of the event loop that called into an RPC object (its reader or
 * its writer): one count for all of them */
static unsigned long aef_xs_rpc_turn__;

/* eager writes per object and turn: enough for the requests that answer
 * one read's responses at a pool's usual load, so that no write watcher
 * (two epoll_ctl calls and a loop turn) is needed for them */
#define AEF_XS_RPC_EAGER 8

/* Under EV, requests queued by callbacks that a reader delivers results
 * and events to are not written at once: their objects wait on a list, and
 * an EV prepare watcher writes each object's queue in one write just
 * before the loop (also a nested one, should a callback wait) blocks. The
 * requests that a batch of results answers (a pool refilling its workers)
 * then leave in one write per worker, not one write and one wake-up of the
 * worker per request. Requests queued elsewhere are written at once, as
 * are all requests under other loops, which have no such hook. */
static int aef_xs_rpc_defer__ = -1; /* not decided yet, no (0), yes (1) */
static int aef_xs_rpc_delivering__; /* readers delivering (nested) */
static SV *aef_xs_rpc_prep__;       /* the prepare watcher (started while the list is not empty) */
static AV *aef_xs_rpc_pending__;    /* counted references to the objects' inner SVs */

/* Holds (aef_xs_rpc_hold): requests queued meanwhile, except those that
 * wait for the prepare watcher, are written when the last hold ends, one
 * write per object. */
static int aef_xs_rpc_holds__;
static AV *aef_xs_rpc_held__; /* counted references to the objects' inner SVs */

static int aef_xs_rpc_free__ (pTHX_ SV *sv, MAGIC *mg);
static int aef_xs_rpc_kick__ (pTHX_ aef_xs_rpc *st);

/* the object's magic: its address identifies RPC state objects */
static MGVTBL aef_xs_rpc_vtbl__ = { 0, 0, 0, 0, aef_xs_rpc_free__, 0, 0, 0 };

/* The state behind the object's inner SV, or NULL once it is released. */
static aef_xs_rpc *
aef_xs_rpc_ptr__ (pTHX_ SV *inner)
{
  MAGIC *mg = aef_xs_magic (aTHX_ inner, &aef_xs_rpc_vtbl__);

  return mg ? (aef_xs_rpc *)mg->mg_ptr : NULL;
}

aef_xs_rpc *
aef_xs_rpc_from (pTHX_ SV *sv)
{
  MAGIC *mg = SvROK (sv) ? aef_xs_magic (aTHX_ SvRV (sv), &aef_xs_rpc_vtbl__) : NULL;

  if (!mg)
    croak (AEF_XS_RPC_CLASS ": not an RPC state object");
  if (!mg->mg_ptr)
    croak (AEF_XS_RPC_CLASS ": object already destroyed");
  return (aef_xs_rpc *)mg->mg_ptr;
}

/* a watcher whose callback is the reader (poll 0) or the writer (1) */
static SV *
aef_xs_rpc_io__ (pTHX_ aef_xs_rpc *st, int poll)
{
  return aef_xs_io (aTHX_ st->fh, poll, poll ? st->wcb : st->rcb);
}

/* Stop both watchers and let the reader release the state. */
static void
aef_xs_rpc_stop__ (pTHX_ aef_xs_rpc *st)
{
  SV *rw = st->rw, *ww = st->ww, *again = st->again, *keep = st->keep;

  st->stopped = 1;
  st->rw = st->ww = st->again = st->keep = NULL;
  SvREFCNT_dec (rw);
  SvREFCNT_dec (ww);
  SvREFCNT_dec (again);
  SvREFCNT_dec (keep);
}

/* A transport error: stop, then on_error. 1, or -1 when on_error died. */
static int
aef_xs_rpc_fail__ (pTHX_ aef_xs_rpc *st, SV *msg)
{
  aef_xs_rpc_stop__ (aTHX_ st);
  return aef_xs_call1 (aTHX_ st->on_error, msg) ? -1 : 1;
}

/* Deliver every complete buffered frame, in order. 0 when none is left,
 * 1 when the reader stopped, -1 when a callback died ($@ set; the frame
 * it was given is consumed, the rest stays buffered). */
static int
aef_xs_rpc_dispatch__ (pTHX_ aef_xs_rpc *st)
{
  while (!st->stopped)
    {
      const uint8_t *p;
      size_t len;
      void *cb = NULL;
      int kind = aef_rpc_next (&st->core, &p, &len, &cb), rc;

      if (kind == AEF_RPC_NONE)
        return 0;

      if (kind == AEF_RPC_UNEXPECTED)
        return aef_xs_rpc_fail__ (aTHX_ st, newSVpvs_flags ("unexpected data from child", SVs_TEMP));

      {
        dSP;
        SV *target;

        ENTER;
        SAVETMPS;
        /* the callback is ours now: freed with this frame's temporaries */
        target = kind == AEF_RPC_RESULT ? sv_2mortal ((SV *)cb) : st->on_event;
        if (kind == AEF_RPC_RESULT)
          aef_xs_closure_attach (aTHX_ target); /* detached while queued */
        PUSHMARK (SP);
        PUTBACK;

        rc = aef_xs_thaw (aTHX_ &st->codec, p, len, &st->core.in);
        if (rc)
          aef_xs_popmark (aTHX);
        else
          {
            call_sv (target, G_VOID | G_DISCARD | G_EVAL);
            rc = AEF_XS_DIED ? -1 : 0;
          }

        FREETMPS;
        LEAVE;
      }

      if (rc)
        return -1;
    }

  return 1;
}

/* End of a watcher's work: drop the reference that kept the state alive
 * while callbacks ran, then rethrow a callback's error (rc < 0) at this XS
 * boundary, after every C frame has been left consistent. */
static void
aef_xs_rpc_release__ (pTHX_ SV *hold, int rc)
{
  if (rc < 0)
    {
      SV *err = sv_2mortal (newSVsv (ERRSV));

      SvREFCNT_dec (hold);
      croak_sv (err);
    }

  SvREFCNT_dec (hold);
}

/* A callback died ($@ set) while the reader runs: frames may be left in
 * the buffer that no new readiness would deliver, so the reader runs once
 * more from a zero timer. $@ is kept; should the timer not be made, the
 * frames wait for the next readiness, as before. */
static void
aef_xs_rpc_again__ (pTHX_ aef_xs_rpc *st)
{
  SV *err;

  if (st->stopped || st->again)
    return;

  err = sv_2mortal (newSVsv (ERRSV));
  st->again = aef_xs_timer (aTHX_ 0, st->rcb);
  sv_setsv (ERRSV, err);
}

/* The read watcher's (and the again timer's) work: the frames left
 * buffered, then one read and every complete frame. */
static void
aef_xs_rpc_readable__ (pTHX_ aef_xs_rpc *st)
{
  SV *hold = SvREFCNT_inc_simple_NN (st->obj); /* callbacks may drop the rest */
  SV *again = st->again; /* one-shot: it has fired, or readiness came first */
  int rc;

  st->again = NULL;
  SvREFCNT_dec (again);
  aef_xs_rpc_turn__++;

  /* frames left behind by a callback that died last time come first */
  aef_xs_rpc_delivering__++;
  rc = aef_xs_rpc_dispatch__ (aTHX_ st);

  if (!rc)
    {
      ssize_t n = aef_rpc_read (&st->core);

      if (n > 0)
        rc = aef_xs_rpc_dispatch__ (aTHX_ st);
      else if (n == 0)
        {
          aef_xs_rpc_stop__ (aTHX_ st);
          if (aef_rpc_outstanding (&st->core))
            rc = aef_xs_call1 (aTHX_ st->on_error, newSVpvs_flags ("unexpected eof", SVs_TEMP));
          else if (SvTRUE (st->on_destroy))
            rc = aef_xs_call1 (aTHX_ st->on_destroy, NULL);
        }
      else if (n != -EAGAIN)
        rc = aef_xs_rpc_fail__ (aTHX_ st,
                                sv_2mortal (newSVpvf ("read: %" SVf,
                                                      SVfARG (aef_xs_strerror (aTHX_ -(int)n)))));
    }
  aef_xs_rpc_delivering__--;

  if (!rc)
    aef_rpc_trim (&st->core);
  else if (rc < 0)
    aef_xs_rpc_again__ (aTHX_ st);

  aef_xs_rpc_release__ (aTHX_ hold, rc);
}

/* The write watcher's work: one write; drop the watcher once drained. */
static void
aef_xs_rpc_writable__ (pTHX_ aef_xs_rpc *st)
{
  SV *hold = SvREFCNT_inc_simple_NN (st->obj);
  ssize_t left = st->werr ? st->werr : aef_rpc_write (&st->core);
  int rc = 0;

  st->werr = 0;
  aef_xs_rpc_turn__++;

  if (left < 0)
    rc = aef_xs_rpc_fail__ (aTHX_ st, aef_xs_strerror (aTHX_ -(int)left));
  else if (left == 0)
    {
      SV *ww = st->ww;

      st->ww = NULL;
      SvREFCNT_dec (ww);
    }

  aef_xs_rpc_release__ (aTHX_ hold, rc);
}

static void
aef_xs_rpc_rcb__ (pTHX_ CV *cv)
{
  dXSARGS;
  aef_xs_rpc *st = (aef_xs_rpc *)CvXSUBANY (cv).any_ptr;

  PERL_UNUSED_VAR (items);
  if (st)
    aef_xs_rpc_readable__ (aTHX_ st);
  XSRETURN_EMPTY;
}

static void
aef_xs_rpc_wcb__ (pTHX_ CV *cv)
{
  dXSARGS;
  aef_xs_rpc *st = (aef_xs_rpc *)CvXSUBANY (cv).any_ptr;

  PERL_UNUSED_VAR (items);
  if (st)
    aef_xs_rpc_writable__ (aTHX_ st);
  XSRETURN_EMPTY;
}

/* Call $watcher->method (start or stop); 0 with $@ as it was, or -1 when
 * it died ($@ set). */
static int
aef_xs_rpc_prep_call__ (pTHX_ const char *method)
{
  dSP;
  SV *err;
  int rc;

  ENTER;
  SAVETMPS;
  err = sv_2mortal (newSVsv (ERRSV));
  PUSHMARK (SP);
  XPUSHs (aef_xs_rpc_prep__);
  PUTBACK;
  call_method (method, G_VOID | G_DISCARD | G_EVAL);
  rc = AEF_XS_DIED ? -1 : 0;
  if (!rc)
    sv_setsv (ERRSV, err);
  FREETMPS;
  LEAVE;
  return rc;
}

/* The prepare watcher: write the queue of every object on the list (once,
 * in list order); what does not fit is left to the object's write watcher,
 * as are write errors (reported from there, not from here). */
static void
aef_xs_rpc_prep_cb__ (pTHX_ CV *cv)
{
  dXSARGS;
  AV *list = aef_xs_rpc_pending__;

  PERL_UNUSED_VAR (cv);
  PERL_UNUSED_VAR (items);
  aef_xs_rpc_pending__ = newAV (); /* callbacks below may queue more */
  sv_2mortal ((SV *)list);
  while (av_len (list) >= 0)
    {
      SV *obj = sv_2mortal (av_shift (list));
      aef_xs_rpc *st = aef_xs_rpc_ptr__ (aTHX_ obj);
      ssize_t left;

      if (!st)
        continue;
      st->pending = 0;
      if (st->core.fd < 0 || st->ww || st->stopped)
        continue;
      left = aef_rpc_write (&st->core);
      if (left < 0)
        st->werr = (int)left;
      if (left && !(st->ww = aef_xs_rpc_io__ (aTHX_ st, 1)))
        warn ("AnyEvent::Fork::RPC: cannot watch for writability: %" SVf, SVfARG (ERRSV));
    }
  if (av_len (aef_xs_rpc_pending__) < 0)
    aef_xs_rpc_prep_call__ (aTHX_ "stop");
  XSRETURN_EMPTY;
}

/* Decide once whether writes are deferred: only under EV (AnyEvent has
 * chosen its model by now: the object's read watcher exists). */
static void
aef_xs_rpc_defer_init__ (pTHX)
{
  SV *model = get_sv ("AnyEvent::MODEL", 0);
  int ev = model && SvOK (model) && strEQ (SvPV_nolen (model), "AnyEvent::Impl::EV");

  aef_xs_rpc_defer__ = 0;
  if (ev)
    {
      dSP;
      SV *err;
      int n;

      ENTER;
      SAVETMPS;
      err = sv_2mortal (newSVsv (ERRSV));
      PUSHMARK (SP);
      XPUSHs (sv_2mortal (newRV_noinc ((SV *)newXS (NULL, aef_xs_rpc_prep_cb__, __FILE__))));
      PUTBACK;
      n = call_pv ("EV::prepare_ns", G_SCALAR | G_EVAL);
      SPAGAIN;
      if (n == 1 && !AEF_XS_DIED)
        {
          aef_xs_rpc_prep__ = newSVsv (POPs);
          aef_xs_rpc_pending__ = newAV ();
          aef_xs_rpc_defer__ = 1;
        }
      else if (n == 1)
        (void)POPs;
      PUTBACK;
      sv_setsv (ERRSV, err); /* without EV::prepare_ns: eager writes */
      FREETMPS;
      LEAVE;
    }
}

/* Put the object on the list written before the loop waits. 0, or -1 ($@
 * set) when the prepare watcher could not be started. */
static int
aef_xs_rpc_defer_add__ (pTHX_ aef_xs_rpc *st)
{
  if (av_len (aef_xs_rpc_pending__) < 0 && aef_xs_rpc_prep_call__ (aTHX_ "start"))
    return -1;
  st->pending = 1;
  av_push (aef_xs_rpc_pending__, SvREFCNT_inc_simple_NN (st->obj));
  return 0;
}

/* After a request was queued: write it at once, up to AEF_XS_RPC_EAGER
 * times per turn of the event loop into any RPC object (requests that
 * answer responses, also those a pool hands to another worker), else
 * leave it to the write watcher, so that requests queued in a burst go
 * out in one write. 0, or -1 ($@ set) when the watcher could not be
 * created. */
static int
aef_xs_rpc_kick__ (pTHX_ aef_xs_rpc *st)
{
  if (st->core.fd < 0 || st->ww || st->pending || st->held)
    return 0;

  if (aef_xs_rpc_delivering__)
    {
      if (aef_xs_rpc_defer__ < 0)
        aef_xs_rpc_defer_init__ (aTHX);
      if (aef_xs_rpc_defer__)
        return aef_xs_rpc_defer_add__ (aTHX_ st);
    }

  if (aef_xs_rpc_holds__)
    {
      if (!aef_xs_rpc_held__)
        aef_xs_rpc_held__ = newAV ();
      st->held = 1;
      av_push (aef_xs_rpc_held__, SvREFCNT_inc_simple_NN (st->obj));
      return 0;
    }

  if (st->turn != aef_xs_rpc_turn__)
    {
      st->turn = aef_xs_rpc_turn__;
      st->eager = 0;
    }

  if (st->eager < AEF_XS_RPC_EAGER && !st->werr)
    {
      ssize_t left = aef_rpc_write (&st->core);

      st->eager++;
      if (left == 0)
        return 0;
      if (left < 0)
        st->werr = (int)left; /* reported from the event loop, not from here */
    }

  st->ww = aef_xs_rpc_io__ (aTHX_ st, 1);
  return st->ww ? 0 : -1;
}

void
aef_xs_rpc_hold (pTHX)
{
  PERL_UNUSED_CONTEXT;
  aef_xs_rpc_holds__++;
}

int
aef_xs_rpc_release (pTHX)
{
  AV *list = aef_xs_rpc_held__;
  SV *err = NULL;

  if (--aef_xs_rpc_holds__ || !list)
    return 0;

  aef_xs_rpc_held__ = NULL;
  sv_2mortal ((SV *)list);
  while (av_len (list) >= 0)
    {
      SV *obj = sv_2mortal (av_shift (list));
      aef_xs_rpc *st = aef_xs_rpc_ptr__ (aTHX_ obj);

      if (!st)
        continue;
      st->held = 0;
      if (aef_xs_rpc_kick__ (aTHX_ st) && !err)
        err = sv_2mortal (newSVsv (ERRSV));
    }

  if (err)
    sv_setsv (ERRSV, err);
  return err ? -1 : 0;
}

static MGVTBL aef_xs_rpc_guard_vtbl;

/* The RPC object: $rpc->(@args, $cb). Its state is found through the
 * guard's magic (global destruction may have destroyed it). */
static void
aef_xs_rpc_call__ (pTHX_ CV *cv)
{
  dXSARGS;
  MAGIC *mg = aef_xs_magic (aTHX_ (SV *)cv, &aef_xs_rpc_guard_vtbl);
  aef_xs_rpc *st = mg ? aef_xs_rpc_ptr__ (aTHX_ mg->mg_obj) : NULL;
  SV *cb = items ? ST (items - 1) : &PL_sv_undef;
  aef_xs_payload pl;
  int rc;

  if (!st)
    croak ("AnyEvent::Fork::RPC: called after global destruction");

  if (aef_xs_freeze (aTHX_ &st->codec, &ST (0), items ? items - 1 : 0, &pl))
    aef_xs_rethrow (aTHX);

  if ((uint64_t)pl.size > AEF_RPC_MAX)
    aef_xs_croak_size (aTHX_ "request", pl.size);

  rc = aef_rpc_begin (&st->core, pl.size);
  if (!rc)
    {
      SV *copy;

      aef_xs_payload_put (aTHX_ &pl, &st->core.out);
      /* the callback as the original keeps it (a copy of the scalar); for
       * a code reference the code itself is enough */
      copy = SvROK (cb) && SvTYPE (SvRV (cb)) == SVt_PVCV && !SvGMAGICAL (cb)
             ? SvREFCNT_inc_simple_NN (SvRV (cb))
             : newSVsv (cb);
      rc = aef_rpc_end (&st->core, copy);
      if (rc)
        SvREFCNT_dec (copy);
      else
        aef_xs_closure_detach (aTHX_ copy, 1, 0); /* a fresh closure: while queued */
    }
  if (rc)
    croak ("AnyEvent::Fork::RPC: cannot queue request: %" SVf,
           SVfARG (aef_xs_strerror (aTHX_ -rc)));

  if (aef_xs_rpc_kick__ (aTHX_ st))
    aef_xs_rethrow (aTHX);

  XSRETURN_EMPTY;
}

/* Free-magic on the RPC object: the guard that requests the shutdown. */
static int
aef_xs_rpc_guard__ (pTHX_ SV *sv, MAGIC *mg)
{
  aef_xs_rpc *st = aef_xs_rpc_ptr__ (aTHX_ mg->mg_obj);

  PERL_UNUSED_ARG (sv);
  if (st)
    aef_rpc_shutdown (&st->core, !st->ww && !st->pending && !st->held);
  return 0;
}

static MGVTBL aef_xs_rpc_guard_vtbl = { 0, 0, 0, 0, aef_xs_rpc_guard__, 0, 0, 0 };

static void
aef_xs_rpc_drop__ (void *ctx, void *cb)
{
  dTHX;
  PERL_UNUSED_ARG (ctx);
  aef_xs_closure_attach (aTHX_ (SV *)cb);
  SvREFCNT_dec ((SV *)cb);
}

/* Release the state. st->keep (a reference to the object itself) can only
 * be set here during global destruction; it is simply forgotten. */
static void
aef_xs_rpc_destroy__ (pTHX_ aef_xs_rpc *st)
{
  SvREFCNT_dec (st->rw);
  SvREFCNT_dec (st->ww);
  SvREFCNT_dec (st->again);
  if (st->rcb)
    CvXSUBANY (st->rcb).any_ptr = NULL;
  if (st->wcb)
    CvXSUBANY (st->wcb).any_ptr = NULL;
  SvREFCNT_dec ((SV *)st->rcb);
  SvREFCNT_dec ((SV *)st->wcb);
  SvREFCNT_dec (st->fh);
  aef_xs_codec_free (aTHX_ &st->codec);
  SvREFCNT_dec (st->on_event);
  SvREFCNT_dec (st->on_error);
  SvREFCNT_dec (st->on_destroy);
  aef_rpc_free (&st->core, aef_xs_rpc_drop__, NULL);
  Safefree (st);
}

/* Detach the state from the object's magic and release it (once). */
static void
aef_xs_rpc_detach__ (pTHX_ MAGIC *mg)
{
  aef_xs_rpc *st = (aef_xs_rpc *)mg->mg_ptr;

  mg->mg_ptr = NULL;
  if (st)
    aef_xs_rpc_destroy__ (aTHX_ st);
}

/* the magic's free hook */
static int
aef_xs_rpc_free__ (pTHX_ SV *sv, MAGIC *mg)
{
  PERL_UNUSED_ARG (sv);
  aef_xs_rpc_detach__ (aTHX_ mg);
  return 0;
}

SV *
aef_xs_rpc_new (pTHX_ const char *klass, int async, UV rlen, SV *serialiser, SV *freeze, SV *thaw,
                SV *on_event, SV *on_error, SV *on_destroy)
{
  aef_xs_rpc *st;
  SV *obj;

  Newxz (st, 1, aef_xs_rpc);
  aef_rpc_init (&st->core, async, rlen);
  aef_xs_codec_init (aTHX_ &st->codec, serialiser, freeze, thaw);
  aef_xs_codec_split (&st->codec, &st->core.in); /* large results: no copy */
  st->on_event = newSVsv (on_event);
  st->on_error = newSVsv (on_error);
  st->on_destroy = newSVsv (on_destroy);
  st->turn = aef_xs_rpc_turn__ - 1;

  obj = aef_xs_obj_new (aTHX_ gv_stashpv (klass, GV_ADD), &aef_xs_rpc_vtbl__, st);
  st->obj = SvRV (obj);
  return obj;
}

void
aef_xs_rpc_connect (pTHX_ aef_xs_rpc *st, SV *fh)
{
  int fd = aef_xs_fd (aTHX_ fh, "fh");

  if (st->fh)
    croak ("AnyEvent::Fork::RPC: already connected");

  aef_set_nonblock (fd, 1);
  st->fh = newSVsv (fh);
  st->rcb = newXS (NULL, aef_xs_rpc_rcb__, __FILE__);
  CvXSUBANY (st->rcb).any_ptr = st;
  st->wcb = newXS (NULL, aef_xs_rpc_wcb__, __FILE__);
  CvXSUBANY (st->wcb).any_ptr = st;
  aef_rpc_connect (&st->core, fd);

  /* the reader keeps the state alive until end-of-file or an error */
  if (!(st->rw = aef_xs_rpc_io__ (aTHX_ st, 0)))
    aef_xs_rethrow (aTHX);
  st->keep = SvREFCNT_inc_simple_NN (st->obj);

  /* armed once: writes what was queued before, or performs a shutdown
   * requested before the connection existed */
  if (!(st->ww = aef_xs_rpc_io__ (aTHX_ st, 1)))
    aef_xs_rethrow (aTHX);
}

SV *
aef_xs_rpc_closure (pTHX_ aef_xs_rpc *st)
{
  CV *call = newXS (NULL, aef_xs_rpc_call__, __FILE__);

  /* counts a reference to the state; the free hook is the guard */
  sv_magicext ((SV *)call, st->obj, PERL_MAGIC_ext, &aef_xs_rpc_guard_vtbl, NULL, 0);
  return newRV_noinc ((SV *)call);
}

void
aef_xs_rpc_destroy (pTHX_ SV *self)
{
  MAGIC *mg = SvROK (self) ? aef_xs_magic (aTHX_ SvRV (self), &aef_xs_rpc_vtbl__) : NULL;

  if (mg)
    aef_xs_rpc_detach__ (aTHX_ mg);
}
