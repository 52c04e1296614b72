/*
 * rpc.h - Perl glue of the RPC data path (c/aef_rpc.h), included by
 * Core.xs. The XS sections are in rpc.xsh.
 *
 * Parent: AnyEvent::Fork::RPC::run makes one aef_xs_rpc (a Perl object of
 * class AnyEvent::Fork::RPC::Core) that owns the C state, the user's
 * callbacks and the AnyEvent watchers. The watchers call XSUBs directly:
 * one call per readiness reads, parses and dispatches every complete
 * frame. The RPC object handed to the user is an anonymous XSUB whose
 * free-magic is the shutdown guard.
 *
 * Child: one backend runs per process, so its state is a single static
 * aef_xs_child. The synchronous loop runs in the core
 * (aef_rpc_sync_serve) and calls back into aef_xs_sync_handler__; the
 * asynchronous backend's watchers call async_read / async_write.
 *
 * Every call into Perl is made under G_EVAL. A Perl exception is caught,
 * carried back as a return value through the C frames, and rethrown only
 * in the XSUB that was entered from Perl.
 */

#include "aef_rpc.h"

#include <sys/socket.h>
#include <sys/uio.h>

/* the text of $AnyEvent::Fork::RPC::STRING_SERIALISER; a serialiser with
 * exactly this text uses the built-in string-list codec of the C core */
#define AEF_XS_STRING_SERIALISER \
  "(sub { pack \"(w/a*)*\", @_ }, sub { unpack \"(w/a*)*\", shift })"

#define AEF_XS_RPC_CLASS "AnyEvent::Fork::RPC::Core"

/* $@ is set: a Perl call died */
#define AEF_XS_DIED (SvTRUE (ERRSV))

/* ------------------------------------------------------------------------ */
/* serialising                                                               */

/* Where a payload comes from: the built-in string list of args (p NULL),
 * or the octets p/len returned by a Perl freeze function. */
typedef struct aef_xs_payload {
  const char *p;
  STRLEN len;
  SV **args;
  I32 n;
  size_t size;
} aef_xs_payload;

/* Can the string-list codec encode sv without running Perl code, exactly
 * as pack "w/a*" would? (plain octet strings, numbers, undef) */
static int
aef_xs_plain__ (pTHX_ SV *sv)
{
  if (SvGMAGICAL (sv) || SvROK (sv))
    return 0;
  if (SvPOK (sv))
    return !SvUTF8 (sv);
  return !SvOK (sv) || SvIOK (sv) || SvNOK (sv);
}

/* Decide how to serialise args[0..n-1] and compute the payload size. With
 * fast set and plain values only, the C codec is used; else the Perl
 * freeze function is called (list context, first value). 0, or -1 when
 * freeze died or returned something that is not an octet string ($@ set). */
static int
aef_xs_payload__ (pTHX_ SV *freeze, int fast, SV **args, I32 n, aef_xs_payload *pl)
{
  I32 i;

  pl->p = NULL;
  pl->args = args;
  pl->n = n;

  if (fast)
    {
      uint64_t size = 0;

      for (i = 0; i < n; i++)
        {
          STRLEN len = 0;

          if (!aef_xs_plain__ (aTHX_ args[i]))
            break;
          if (SvOK (args[i]))
            (void)SvPV_nomg (args[i], len); /* numbers get their string here */
          size += aef_ber_size (len) + len;
        }

      if (i == n)
        {
          pl->size = size > SIZE_MAX ? SIZE_MAX : (size_t)size;
          return 0;
        }
    }

  {
    dSP;
    SSize_t base = args - PL_stack_base; /* EXTEND may move the stack */
    I32 count;
    SV *res;

    PUSHMARK (SP);
    EXTEND (SP, n);
    for (i = 0; i < n; i++)
      PUSHs (PL_stack_base[base + i]);
    PUTBACK;

    count = call_sv (freeze, G_LIST | G_EVAL);

    SPAGAIN;
    res = count ? sv_mortalcopy (SP[1 - count]) : sv_newmortal ();
    SP -= count;
    PUTBACK;

    if (AEF_XS_DIED)
      return -1;

    if ((SvROK (res) && SvAMAGIC (res)) || !sv_utf8_downgrade (res, TRUE))
      {
        sv_setpvs (ERRSV, "AnyEvent::Fork::RPC: the serialiser did not return an octet string\n");
        return -1;
      }

    if (SvOK (res))
      pl->p = SvPV_nomg (res, pl->len);
    else
      pl->p = "", pl->len = 0;
    pl->size = pl->len;
    pl->args = NULL;
    return 0;
  }
}

/* Append the payload; room for pl->size octets must be reserved. */
static void
aef_xs_payload_put__ (pTHX_ const aef_xs_payload *pl, aef_buf *b)
{
  I32 i;

  if (pl->p)
    {
      aef_buf_append (b, pl->p, pl->len);
      return;
    }

  for (i = 0; i < pl->n; i++)
    {
      STRLEN len = 0;
      const char *s = "";

      if (SvOK (pl->args[i]))
        s = SvPV_nomg (pl->args[i], len);
      aef_strlist_put (b, s, len);
    }
}

/* A new string SV with a copy of s. Large ones get a buffer of huge pages
 * (faulting in fresh small pages costs more than the copy), with room for
 * perl's copy-on-write count, so that copies of the value share it. Perl
 * frees string buffers with free() unless it has its own malloc or tracks
 * its allocations: then the buffer can also be aligned to a huge page. */
static SV *
aef_xs_newsv__ (pTHX_ const uint8_t *s, size_t n)
{
  SV *sv;
  char *p = NULL;

  if (n < AEF_RPC_HUGE)
    return newSVpvn ((const char *)s, n);

  sv = newSV_type (SVt_PV);
#if !defined(MYMALLOC) && !defined(PERL_TRACK_MEMPOOL)
  if (posix_memalign ((void **)&p, 2 * 1024 * 1024, n + 2))
    p = NULL;
#endif
  if (!p)
    Newx (p, n + 2, char);
  aef_rpc_advise (p, n + 2);
  memcpy (p, s, n);
  p[n] = 0;
  SvPV_set (sv, p);
  SvCUR_set (sv, n);
  SvLEN_set (sv, n + 2);
  SvPOK_only (sv);
  return sv;
}

/* Push the values thawed from a payload onto the Perl stack, after a mark
 * the caller pushed (they become the arguments of the caller's next call).
 * The C codec is tried first when fast is set; a payload it rejects goes to
 * the Perl thaw function, so malformed lists come out as perl's unpack
 * makes them. 0, or -1 when thaw died ($@ set; the stack is back at the
 * caller's mark, which the caller still has to pop). */
static int
aef_xs_thaw__ (pTHX_ SV *thaw, int fast, const uint8_t *p, size_t len)
{
  dSP;

  if (fast)
    {
      const uint8_t *q = p, *end = p + len, *s;
      SSize_t base = SP - PL_stack_base; /* XPUSHs may move the stack */
      size_t n;
      int rc;

      while ((rc = aef_strlist_get (&q, end, &s, &n)) > 0)
        XPUSHs (sv_2mortal (aef_xs_newsv__ (aTHX_ s, n)));

      if (rc == 0)
        {
          PUTBACK;
          return 0;
        }

      SP = PL_stack_base + base;
    }

  PUSHMARK (SP);
  XPUSHs (sv_2mortal (newSVpvn ((const char *)p, len)));
  PUTBACK;

  /* the values land where the argument was: above the caller's mark */
  call_sv (thaw, G_LIST | G_EVAL);

  return AEF_XS_DIED ? -1 : 0;
}

/* Drop the caller's mark after aef_xs_thaw__ failed. */
static void
aef_xs_popmark__ (pTHX)
{
  PL_stack_sp = PL_stack_base + POPMARK;
}

/* Call cb with one argument (or none), discarding results. 0 or -1 ($@). */
static int
aef_xs_call1__ (pTHX_ SV *cb, SV *arg)
{
  dSP;

  ENTER;
  SAVETMPS;
  PUSHMARK (SP);
  if (arg)
    XPUSHs (arg);
  PUTBACK;
  call_sv (cb, G_VOID | G_DISCARD | G_EVAL);
  FREETMPS;
  LEAVE;

  return AEF_XS_DIED ? -1 : 0;
}

/* Rethrow the pending $@ (a copy: what runs until the croak may reset $@).
 * Only from an XSUB entered from Perl. */
static void
aef_xs_rethrow__ (pTHX)
{
  croak_sv (sv_2mortal (newSVsv (ERRSV)));
}

/* "$!" for errno value err, as a new mortal plain string. */
static SV *
aef_xs_strerror__ (pTHX_ int err)
{
  SV *e = sv_string_from_errnum (err, NULL);

  return sv_2mortal (newSVpvn (SvPVX (e), SvCUR (e)));
}

static void
aef_xs_croak_size__ (pTHX_ const char *what, size_t size)
{
  croak ("AnyEvent::Fork::RPC: %s too large (%" UVuf " octets, at most 4294967295)",
         what, (UV)size);
}

/* ------------------------------------------------------------------------ */
/* parent                                                                    */

typedef struct aef_xs_rpc {
  aef_rpc core;
  SV *obj;            /* the object's inner SV (not counted) */
  SV *keep;           /* counted reference to obj while the reader runs */
  SV *freeze, *thaw;  /* the serialiser's functions */
  int fast;           /* the serialiser is the default string serialiser */
  SV *on_event, *on_error, *on_destroy;
  SV *fh;             /* the socket, once connected */
  SV *rw, *ww;        /* AnyEvent watchers */
  CV *rcb, *wcb;      /* their callbacks: XSUBs pointing back here */
  int stopped;        /* reader stopped: end-of-file or a transport error */
  int fresh;          /* the event loop called us since the last eager write */
  int werr;           /* -errno of an eager write, reported by the writer */
} aef_xs_rpc;

static aef_xs_rpc *
aef_xs_rpc_ptr__ (pTHX_ SV *inner)
{
  return INT2PTR (aef_xs_rpc *, SvIV (inner));
}

/* typemap: an AnyEvent::Fork::RPC::Core object */
static aef_xs_rpc *
aef_xs_rpc_from__ (pTHX_ SV *sv)
{
  aef_xs_rpc *st;

  if (!SvROK (sv) || !sv_derived_from (sv, AEF_XS_RPC_CLASS))
    croak ("object is not of type " AEF_XS_RPC_CLASS);
  st = aef_xs_rpc_ptr__ (aTHX_ SvRV (sv));
  if (!st)
    croak (AEF_XS_RPC_CLASS " object already destroyed");
  return st;
}

/* $w = AE::io $fh, $poll, $cb; NULL with $@ set when that died */
static SV *
aef_xs_rpc_io__ (pTHX_ aef_xs_rpc *st, int poll)
{
  dSP;
  CV *io = get_cv ("AE::io", 0);
  SV *w;

  if (!io)
    {
      sv_setpvs (ERRSV, "AnyEvent::Fork::RPC: AnyEvent is not loaded\n");
      return NULL;
    }

  ENTER;
  SAVETMPS;
  PUSHMARK (SP);
  EXTEND (SP, 3);
  PUSHs (st->fh);
  mPUSHi (poll);
  mPUSHs (newRV_inc ((SV *)(poll ? st->wcb : st->rcb)));
  PUTBACK;

  call_sv ((SV *)io, G_SCALAR | G_EVAL);

  SPAGAIN;
  w = POPs;
  w = AEF_XS_DIED ? NULL : newSVsv (w);
  PUTBACK;
  FREETMPS;
  LEAVE;

  return w;
}

/* Stop both watchers and let the reader release the state. */
static void
aef_xs_rpc_stop__ (pTHX_ aef_xs_rpc *st)
{
  SV *rw = st->rw, *ww = st->ww, *keep = st->keep;

  st->stopped = 1;
  st->rw = st->ww = st->keep = NULL;
  SvREFCNT_dec (rw);
  SvREFCNT_dec (ww);
  SvREFCNT_dec (keep);
}

/* A transport error: stop, then on_error. 1, or -1 when on_error died. */
static int
aef_xs_rpc_fail__ (pTHX_ aef_xs_rpc *st, SV *msg)
{
  aef_xs_rpc_stop__ (aTHX_ st);
  return aef_xs_call1__ (aTHX_ st->on_error, msg) ? -1 : 1;
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

        rc = aef_xs_thaw__ (aTHX_ st->thaw, st->fast, p, len);
        if (rc)
          aef_xs_popmark__ (aTHX);
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

/* The read watcher's work: one read, then every complete frame. */
static void
aef_xs_rpc_readable__ (pTHX_ aef_xs_rpc *st)
{
  SV *hold = SvREFCNT_inc_simple_NN (st->obj); /* callbacks may drop the rest */
  int rc;

  st->fresh = 1;

  /* frames left behind by a callback that died last time come first */
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
            rc = aef_xs_call1__ (aTHX_ st->on_error, newSVpvs_flags ("unexpected eof", SVs_TEMP));
          else if (SvTRUE (st->on_destroy))
            rc = aef_xs_call1__ (aTHX_ st->on_destroy, NULL);
        }
      else if (n != -EAGAIN)
        rc = aef_xs_rpc_fail__ (aTHX_ st,
                                sv_2mortal (newSVpvf ("read: %" SVf,
                                                      SVfARG (aef_xs_strerror__ (aTHX_ -(int)n)))));
    }

  if (!rc)
    aef_rpc_trim (&st->core);

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
  st->fresh = 1;

  if (left < 0)
    rc = aef_xs_rpc_fail__ (aTHX_ st, aef_xs_strerror__ (aTHX_ -(int)left));
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

/* After a request was queued: write it at once when the event loop has
 * called us since the last such eager write (a request answering a
 * response, for example), else leave it to the write watcher, so that
 * requests queued in a burst go out in one write. 0, or -1 ($@ set) when
 * the watcher could not be created. */
static int
aef_xs_rpc_kick__ (pTHX_ aef_xs_rpc *st)
{
  if (st->core.fd < 0 || st->ww)
    return 0;

  if (st->fresh && !st->werr)
    {
      ssize_t left = aef_rpc_write (&st->core);

      st->fresh = 0;
      if (left == 0)
        return 0;
      if (left < 0)
        st->werr = (int)left; /* reported from the event loop, not from here */
    }

  st->ww = aef_xs_rpc_io__ (aTHX_ st, 1);
  return st->ww ? 0 : -1;
}

static MGVTBL aef_xs_rpc_guard_vtbl;

/* The RPC object: $rpc->(@args, $cb). Its state is found through the
 * guard's magic (global destruction may have destroyed it). */
static void
aef_xs_rpc_call__ (pTHX_ CV *cv)
{
  dXSARGS;
  MAGIC *mg = mg_findext ((SV *)cv, PERL_MAGIC_ext, &aef_xs_rpc_guard_vtbl);
  aef_xs_rpc *st = mg ? aef_xs_rpc_ptr__ (aTHX_ mg->mg_obj) : NULL;
  SV *cb = items ? ST (items - 1) : &PL_sv_undef;
  aef_xs_payload pl;
  int rc;

  if (!st)
    croak ("AnyEvent::Fork::RPC: called after global destruction");

  if (aef_xs_payload__ (aTHX_ st->freeze, st->fast, &ST (0), items ? items - 1 : 0, &pl))
    aef_xs_rethrow__ (aTHX);

  if ((uint64_t)pl.size > AEF_RPC_MAX)
    aef_xs_croak_size__ (aTHX_ "request", pl.size);

  rc = aef_rpc_begin (&st->core, pl.size);
  if (!rc)
    {
      SV *copy;

      aef_xs_payload_put__ (aTHX_ &pl, &st->core.out);
      /* the callback as the original keeps it (a copy of the scalar); for
       * a code reference the code itself is enough */
      copy = SvROK (cb) && SvTYPE (SvRV (cb)) == SVt_PVCV && !SvGMAGICAL (cb)
             ? SvREFCNT_inc_simple_NN (SvRV (cb))
             : newSVsv (cb);
      rc = aef_rpc_end (&st->core, copy);
      if (rc)
        SvREFCNT_dec (copy);
      else
        aef_xs_closure_detach (aTHX_ copy, 1); /* a fresh closure: while queued */
    }
  if (rc)
    croak ("AnyEvent::Fork::RPC: cannot queue request: %" SVf,
           SVfARG (aef_xs_strerror__ (aTHX_ -rc)));

  if (aef_xs_rpc_kick__ (aTHX_ st))
    aef_xs_rethrow__ (aTHX);

  XSRETURN_EMPTY;
}

/* Free-magic on the RPC object: the guard that requests the shutdown. */
static int
aef_xs_rpc_guard__ (pTHX_ SV *sv, MAGIC *mg)
{
  aef_xs_rpc *st = aef_xs_rpc_ptr__ (aTHX_ mg->mg_obj);

  PERL_UNUSED_ARG (sv);
  if (st)
    aef_rpc_shutdown (&st->core, !st->ww);
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

/* DESTROY. st->keep (a reference to the object itself) can only be set
 * here during global destruction; it is simply forgotten. */
static void
aef_xs_rpc_destroy__ (pTHX_ aef_xs_rpc *st)
{
  SvREFCNT_dec (st->rw);
  SvREFCNT_dec (st->ww);
  if (st->rcb)
    CvXSUBANY (st->rcb).any_ptr = NULL;
  if (st->wcb)
    CvXSUBANY (st->wcb).any_ptr = NULL;
  SvREFCNT_dec ((SV *)st->rcb);
  SvREFCNT_dec ((SV *)st->wcb);
  SvREFCNT_dec (st->fh);
  SvREFCNT_dec (st->freeze);
  SvREFCNT_dec (st->thaw);
  SvREFCNT_dec (st->on_event);
  SvREFCNT_dec (st->on_error);
  SvREFCNT_dec (st->on_destroy);
  aef_rpc_free (&st->core, aef_xs_rpc_drop__, NULL);
  Safefree (st);
}

/* ------------------------------------------------------------------------ */
/* child                                                                     */

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

static aef_xs_child aef_xs_child__;

/* handler result of aef_rpc_sync_serve: a Perl call died */
#define AEF_XS_SYNC_DIED 1

/* The backend's state; the Async backend reuses the Sync loop's buffers:
 * sync.in reads "NN/a*" requests there. */
static void
aef_xs_child_init__ (pTHX_ int rfd, int wfd, size_t rlen, SV *func, int fast, SV *freeze, SV *thaw, unsigned hdr)
{
  aef_xs_child *c = &aef_xs_child__;

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
aef_xs_child_frame__ (pTHX_ uint32_t id, SV **args, I32 n)
{
  aef_xs_child *c = &aef_xs_child__;
  aef_xs_payload pl;
  size_t mark;
  int rc;

  if (aef_xs_payload__ (aTHX_ c->freeze, c->fast, args, n, &pl))
    aef_xs_rethrow__ (aTHX);
  if ((uint64_t)pl.size > AEF_RPC_MAX)
    aef_xs_croak_size__ (aTHX_ id ? "response" : "event", pl.size);

  rc = aef_rpc_frame_begin (&c->sync.out, AEF_RPC_HDR, id, pl.size, &mark);
  if (rc)
    croak ("AnyEvent::Fork::RPC: cannot queue %s: %" SVf, id ? "response" : "event",
           SVfARG (aef_xs_strerror__ (aTHX_ -rc)));
  aef_xs_payload_put__ (aTHX_ &pl, &c->sync.out);
  aef_rpc_frame_end (&c->sync.out, AEF_RPC_HDR, mark); /* the size was checked */
}

/* Sync: write a large response straight from the values' own buffers (no
 * copy into the output buffer). 0, -errno, or 1 when it has too many
 * pieces for one writev: the caller copies it instead. */
#define AEF_XS_PIECES 64

static int
aef_xs_sync_writev__ (pTHX_ const aef_xs_payload *pl, aef_rpc_sync *s)
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
aef_xs_sync_handler__ (void *ctx, const uint8_t *p, size_t len, aef_rpc_sync *s)
{
  dTHX;
  aef_xs_child *c = (aef_xs_child *)ctx;
  int rc = 0;
  dSP;

  ENTER;
  SAVETMPS;
  PUSHMARK (SP);
  PUTBACK;

  if (aef_xs_thaw__ (aTHX_ c->thaw, c->fast, p, len))
    {
      aef_xs_popmark__ (aTHX);
      rc = AEF_XS_SYNC_DIED;
    }
  else
    {
      I32 count = call_sv (c->func, G_LIST | G_EVAL);
      aef_xs_payload pl;
      size_t mark;

      /* the results stay on the stack while they are serialised */
      if (AEF_XS_DIED
          || aef_xs_payload__ (aTHX_ c->freeze, c->fast, PL_stack_sp - count + 1, count, &pl))
        rc = AEF_XS_SYNC_DIED;
      else if ((uint64_t)pl.size > AEF_RPC_MAX)
        rc = -E2BIG;
      else if (pl.size < AEF_RPC_HUGE || (rc = aef_xs_sync_writev__ (aTHX_ &pl, s)) == 1)
        {
          rc = aef_rpc_frame_begin (&s->out, AEF_RPC_HDR, 1, pl.size, &mark);
          if (!rc)
            {
              aef_xs_payload_put__ (aTHX_ &pl, &s->out);
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
static void aef_xs_async_done__ (pTHX_ CV *cv);

static int
aef_xs_async_dispatch__ (pTHX)
{
  aef_xs_child *c = &aef_xs_child__;
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
        done = newXS (NULL, aef_xs_async_done__, __FILE__);
      CvXSUBANY (done).any_u32 = id;
      rv = sv_2mortal (newRV_noinc ((SV *)done));
      PUSHMARK (SP);
      XPUSHs (rv);
      PUTBACK;

      rc = aef_xs_thaw__ (aTHX_ c->thaw, c->fast, p, len);
      if (rc)
        aef_xs_popmark__ (aTHX);
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
aef_xs_async_arm__ (pTHX)
{
  aef_xs_child *c = &aef_xs_child__;

  if (c->armed)
    return;
  c->armed = 1;
  if (aef_xs_call1__ (aTHX_ c->arm, NULL))
    {
      c->armed = 0;
      aef_xs_rethrow__ (aTHX);
    }
}

/* the done-callback of one request */
static void
aef_xs_async_done__ (pTHX_ CV *cv)
{
  dXSARGS;

  aef_xs_child__.busy--;
  aef_xs_child_frame__ (aTHX_ CvXSUBANY (cv).any_u32, &ST (0), items);
  aef_xs_async_arm__ (aTHX);
  XSRETURN_EMPTY;
}
