/*
 * pool.c - the Pool scheduler heap (see pool.h).
 *
 * AnyEvent::Fork::Pool::Core is the pool's scheduler heap: an aef_heap of
 * small integer ids keyed on load, plus an AV that maps each id to its
 * worker record and owns that record while it is in the heap. A record is
 * an array reference whose element AEF_XS_POOL_KEY holds the key (the
 * worker's load, an integer, read when the record is pushed) and whose
 * element AEF_XS_POOL_ID holds the id the heap gave it (undef while it is
 * not in the heap). While the record is in the heap its key changes only
 * through adjust(), which updates both copies; the heap writes the id.
 *
 * The object is made by aef_xs_obj_new (util.h) with the vtable below; its
 * free hook releases the C struct and the records.
 */
#include "util.h"
#include "pool.h"
#include "aef_heap.h"
#include "closure.h"
#include "rpc_parent.h"

#define AEF_XS_POOL_KEY 0
#define AEF_XS_POOL_ID  1

struct aef_xs_pool {
  aef_heap heap;
  AV *recs; /* recs[id]: reference to the record with that id, or empty */
};

static int
aef_xs_pool_free__ (pTHX_ SV *sv, MAGIC *mg)
{
  aef_xs_pool *p = (aef_xs_pool *)mg->mg_ptr;

  mg->mg_ptr = NULL;
  if (p)
    {
      aef_heap_free (&p->heap);
      SvREFCNT_dec (p->recs);
      Safefree (p);
    }

  return 0;
}

static MGVTBL aef_xs_pool_vtbl__ = { 0, 0, 0, 0, aef_xs_pool_free__, 0, 0, 0 };

aef_xs_pool *
aef_xs_pool_from (pTHX_ SV *sv)
{
  aef_xs_pool *p = (aef_xs_pool *)aef_xs_obj_ptr (aTHX_ sv, &aef_xs_pool_vtbl__);

  if (!p)
    croak ("AnyEvent::Fork::Pool::Core: not a pool heap object");
  return p;
}

/* The array behind a record argument; croaks unless it is an array ref. */
static AV *
aef_xs_pool_rec__ (pTHX_ SV *sv)
{
  if (SvROK (sv) && SvTYPE (SvRV (sv)) == SVt_PVAV)
    return (AV *)SvRV (sv);

  croak ("AnyEvent::Fork::Pool::Core: record is not an array reference");
}

/* A writable element of a record (created if need be); croaks when the
 * record or the element is read-only, so that callers can fetch every
 * element they will write before they change anything. */
static SV *
aef_xs_pool_slot__ (pTHX_ AV *rec, I32 idx)
{
  SV **svp;

  if (SvREADONLY ((SV *)rec)
      || !(svp = av_fetch (rec, idx, 1))
      || SvREADONLY (*svp))
    croak ("AnyEvent::Fork::Pool::Core: record is read-only");

  return *svp;
}

/* The record's key. */
static int64_t
aef_xs_pool_key__ (pTHX_ AV *rec)
{
  SV **svp = av_fetch (rec, AEF_XS_POOL_KEY, 0);

  return svp ? (int64_t)SvIV (*svp) : 0;
}

/* Position of rec in p's heap, or -1 when rec is not in it (its id slot
 * is undef, out of range, or names another record). */
static long
aef_xs_pool_pos__ (pTHX_ aef_xs_pool *p, AV *rec)
{
  SV **svp = av_fetch (rec, AEF_XS_POOL_ID, 0);
  SV **own;
  IV id;
  long pos;

  if (!svp || !SvIOK (*svp))
    return -1;

  id = SvIVX (*svp);
  if (id < 0 || id >= AEF_HEAP_MAX_ID
      || (pos = aef_heap_pos (&p->heap, (uint32_t)id)) < 0
      || !(own = av_fetch (p->recs, id, 0))
      || SvRV (*own) != (SV *)rec)
    return -1;

  return pos;
}

SV *
aef_xs_pool_new (pTHX_ SV *klass)
{
  HV *stash = gv_stashsv (klass, GV_ADD);
  aef_xs_pool *p;

  Newxz (p, 1, aef_xs_pool);
  aef_heap_init (&p->heap);
  p->recs = newAV ();
  return aef_xs_obj_new (aTHX_ stash, &aef_xs_pool_vtbl__, p);
}

void
aef_xs_pool_push (pTHX_ aef_xs_pool *self, SV *rec)
{
  AV *av = aef_xs_pool_rec__ (aTHX_ rec);
  int64_t key = aef_xs_pool_key__ (aTHX_ av);
  SV *idsv = aef_xs_pool_slot__ (aTHX_ av, AEF_XS_POOL_ID);
  uint32_t id = 0;
  int rc;

  if (aef_xs_pool_pos__ (aTHX_ self, av) >= 0)
    croak ("AnyEvent::Fork::Pool::Core: record is already in the heap");

  /* the smallest free id; pools are small and workers start rarely */
  while (aef_heap_pos (&self->heap, id) >= 0)
    id++;

  rc = aef_heap_push (&self->heap, id, key);
  if (rc < 0)
    croak ("AnyEvent::Fork::Pool::Core: push: %s", Strerror (-rc));

  av_store (self->recs, id, newRV_inc ((SV *)av));
  sv_setiv (idsv, id);
}

SV *
aef_xs_pool_top (pTHX_ aef_xs_pool *self)
{
  uint32_t id;

  if (aef_heap_top (&self->heap, &id, NULL) < 0)
    return NULL;

  return newRV_inc (SvRV (*av_fetch (self->recs, id, 0)));
}

/* Add delta to the key of rec (at heap position pos) and restore the
 * order: 0 and the new key in *key, or the text of the error (overflow, a
 * read-only record), changing nothing. */
static const char *
aef_xs_pool_add__ (pTHX_ aef_xs_pool *p, AV *av, long pos, IV delta, int64_t *key)
{
  /* the heap's copy of the key is the one that counts */
  int64_t k = p->heap.ent[pos].key;
  SV **svp;

  if (delta > 0 ? k > INT64_MAX - delta : k < INT64_MIN - delta)
    return "AnyEvent::Fork::Pool::Core: key overflow";
  if (SvREADONLY ((SV *)av)
      || !(svp = av_fetch (av, AEF_XS_POOL_KEY, 1))
      || SvREADONLY (*svp))
    return "AnyEvent::Fork::Pool::Core: record is read-only";
  k += delta;
  aef_heap_update_at (&p->heap, (size_t)pos, k);
  sv_setiv (*svp, (IV)k);
  *key = k;
  return NULL;
}

SV *
aef_xs_pool_adjust (pTHX_ aef_xs_pool *self, SV *rec, IV delta)
{
  AV *av = aef_xs_pool_rec__ (aTHX_ rec);
  long pos = aef_xs_pool_pos__ (aTHX_ self, av);
  const char *fail;
  int64_t key;

  if (pos < 0)
    return NULL;

  if ((fail = aef_xs_pool_add__ (aTHX_ self, av, pos, delta, &key)))
    croak ("%s", fail);
  return newSViv ((IV)key);
}

int
aef_xs_pool_remove (pTHX_ aef_xs_pool *self, SV *rec)
{
  AV *av = aef_xs_pool_rec__ (aTHX_ rec);
  long pos = aef_xs_pool_pos__ (aTHX_ self, av);
  uint32_t id;
  SV *idsv;

  if (pos < 0)
    return 0;

  id = self->heap.ent[pos].id;
  idsv = aef_xs_pool_slot__ (aTHX_ av, AEF_XS_POOL_ID);
  aef_heap_remove_at (&self->heap, (size_t)pos);
  sv_setsv (idsv, &PL_sv_undef);
  av_delete (self->recs, id, G_DISCARD); /* rec is still held by the caller */
  return 1;
}

size_t
aef_xs_pool_size (aef_xs_pool *self)
{
  return aef_heap_size (&self->heap);
}

SV *
aef_xs_pool_at (pTHX_ aef_xs_pool *self, size_t i)
{
  return newRV_inc (SvRV (*av_fetch (self->recs, self->heap.ent[i].id, 0)));
}

/* ------------------------------------------------------------------------ */
/* the scheduler: the pool's state is an array (Pool.pm's constants; keep
 * both in step), its workers are the records above */

#define AEF_XS_POOL_W_RPC  2 /* the worker's RPC object */
#define AEF_XS_POOL_W_DONE 3 /* its completion callback */
#define AEF_XS_POOL_W_CBS  4 /* sync workers: the user's callbacks, in order */
#define AEF_XS_POOL_W_PEND 5 /* the jobs given to it until it connected */

#define AEF_XS_POOL_S_MAX       6
#define AEF_XS_POOL_S_IDLE      7
#define AEF_XS_POOL_S_LOAD      8
#define AEF_XS_POOL_S_QUEUE    12
#define AEF_XS_POOL_S_NIDLE    13
#define AEF_XS_POOL_S_STOP_W   15
#define AEF_XS_POOL_S_SHUTDOWN 16
#define AEF_XS_POOL_S_FULL     17
#define AEF_XS_POOL_S_CFAIL    18

/* element i of av, or undef */
static SV *
aef_xs_pool_el__ (pTHX_ AV *av, I32 i)
{
  SV **svp = av_fetch (av, i, 0);

  return svp ? *svp : &PL_sv_undef;
}

/* the array an element refers to, or NULL */
static AV *
aef_xs_pool_av__ (pTHX_ AV *av, I32 i)
{
  SV *sv = aef_xs_pool_el__ (aTHX_ av, i);

  return SvROK (sv) && SvTYPE (SvRV (sv)) == SVt_PVAV ? (AV *)SvRV (sv) : NULL;
}

/* AnyEvent::Fork::Pool::NAME (args...) under G_EVAL: 0, or -1 ($@ set) */
static int
aef_xs_pool_call__ (pTHX_ const char *name, SV *a, SV *b, SV *c)
{
  dSP;
  int rc;

  ENTER;
  SAVETMPS;
  PUSHMARK (SP);
  EXTEND (SP, 3);
  PUSHs (a);
  if (b)
    PUSHs (b);
  if (c)
    PUSHs (c);
  PUTBACK;
  call_pv (name, G_VOID | G_DISCARD | G_EVAL);
  rc = AEF_XS_DIED ? -1 : 0;
  FREETMPS;
  LEAVE;
  return rc;
}

/* Give one job (its arguments job, callback cb) to worker w, as
 * `$w->[W_RPC]->(@$job, $w->[W_DONE]); push @{ $w->[W_CBS] }, $cb` for a
 * sync worker (async ones: Pool.pm's _give_async), then note it among the
 * worker's pending jobs while it is not known to be connected. 0, or -1
 * ($@ set) when the RPC object died (the serialiser rejected the
 * arguments): the job is dropped. */
static int
aef_xs_pool_give__ (pTHX_ SV *wref, AV *w, SV *jobref, AV *job, SV *cb)
{
  AV *cbs = aef_xs_pool_av__ (aTHX_ w, AEF_XS_POOL_W_CBS), *pend;
  int rc;

  if (cbs)
    {
      dSP;
      SSize_t i, n = av_len (job) + 1;

      ENTER;
      SAVETMPS;
      PUSHMARK (SP);
      EXTEND (SP, n + 1);
      for (i = 0; i < n; i++)
        PUSHs (aef_xs_pool_el__ (aTHX_ job, (I32)i));
      PUSHs (aef_xs_pool_el__ (aTHX_ w, AEF_XS_POOL_W_DONE));
      PUTBACK;
      call_sv (aef_xs_pool_el__ (aTHX_ w, AEF_XS_POOL_W_RPC), G_VOID | G_DISCARD | G_EVAL);
      rc = AEF_XS_DIED ? -1 : 0;
      FREETMPS;
      LEAVE;
      if (!rc)
        av_push (cbs, newSVsv (cb));
    }
  else
    rc = aef_xs_pool_call__ (aTHX_ "AnyEvent::Fork::Pool::_give_async", wref, jobref, cb);

  if (!rc && (pend = aef_xs_pool_av__ (aTHX_ w, AEF_XS_POOL_W_PEND)))
    {
      SSize_t i, n = av_len (job) + 1;
      AV *copy = newAV ();

      av_extend (copy, n);
      for (i = 0; i < n; i++)
        av_push (copy, newSVsv (aef_xs_pool_el__ (aTHX_ job, (I32)i)));
      av_push (copy, newSVsv (cb));
      av_push (pend, newRV_noinc ((SV *)copy));
    }

  return rc;
}

static int
aef_xs_pool_schedule__ (pTHX_ aef_xs_pool *p, SV *self)
{
  AV *st = aef_xs_pool_rec__ (aTHX_ self);
  AV *queue = aef_xs_pool_av__ (aTHX_ st, AEF_XS_POOL_S_QUEUE);

  while (queue && av_len (queue) >= 0)
    {
      uint32_t id;
      int64_t key;
      SV *wref, *jobref, *cb;
      AV *w, *job;
      const char *fail;
      long pos = -1;
      int rc;

      /* the least loaded worker; with none, start one */
      if (aef_heap_top (&p->heap, &id, &key) < 0)
        {
          if (aef_xs_pool_call__ (aTHX_ "AnyEvent::Fork::Pool::_start_worker", self, NULL, NULL))
            return -1;
          if (aef_heap_top (&p->heap, &id, &key) < 0)
            return 0; /* (it always adds one, or dies) */
        }

      if ((NV)key >= SvNV (aef_xs_pool_el__ (aTHX_ st, AEF_XS_POOL_S_LOAD)))
        {
          /* every worker is at full load: until that changes, new jobs
           * only need to be queued */
          sv_setiv (*av_fetch (st, AEF_XS_POOL_S_FULL, 1), 1);
          if ((NV)aef_heap_size (&p->heap) < SvNV (aef_xs_pool_el__ (aTHX_ st, AEF_XS_POOL_S_MAX)))
            return aef_xs_pool_call__ (aTHX_ "AnyEvent::Fork::Pool::_want_start", self, NULL, NULL);
          return 0;
        }

      ENTER;
      SAVETMPS;
      wref = sv_2mortal (newRV_inc (SvRV (*av_fetch (p->recs, id, 0))));
      w = (AV *)SvRV (wref);
      /* (jobs are arrays: [@args, $cb]) */
      jobref = sv_2mortal (av_shift (queue));
      job = (AV *)SvRV (jobref);
      cb = sv_2mortal (av_pop (job));
      rc = aef_xs_pool_give__ (aTHX_ wref, w, jobref, job, cb);

      /* the job counts at the worker, if the worker is still in the pool */
      if (!rc && (pos = aef_xs_pool_pos__ (aTHX_ p, w)) >= 0
          && (fail = aef_xs_pool_add__ (aTHX_ p, w, pos, 1, &key)))
        {
          sv_setpv (ERRSV, fail);
          rc = -1;
        }
      else if (!rc && pos >= 0 && key == 1)
        {
          /* the worker became busy */
          SV *nidle = *av_fetch (st, AEF_XS_POOL_S_NIDLE, 1);

          sv_setiv (nidle, SvIV (nidle) - 1);
          if (!SvIVX (nidle))
            sv_setsv (*av_fetch (st, AEF_XS_POOL_S_STOP_W, 1), &PL_sv_undef);
          if (SvNV (nidle) < SvNV (aef_xs_pool_el__ (aTHX_ st, AEF_XS_POOL_S_IDLE))
              && (NV)aef_heap_size (&p->heap) < SvNV (aef_xs_pool_el__ (aTHX_ st, AEF_XS_POOL_S_MAX)))
            rc = aef_xs_pool_call__ (aTHX_ "AnyEvent::Fork::Pool::_want_start", self, NULL, NULL);
        }
      FREETMPS;
      LEAVE;

      if (rc)
        return -1;
    }

  return 0;
}

int
aef_xs_pool_schedule (pTHX_ aef_xs_pool *p, SV *self)
{
  SV *err;
  int rc;

  (void)aef_xs_pool_rec__ (aTHX_ self); /* (croaks: not while holding) */

  /* nothing below croaks; the jobs one pass gives a worker leave in one write */
  aef_xs_rpc_hold (aTHX);
  rc = aef_xs_pool_schedule__ (aTHX_ p, self);
  err = rc ? sv_2mortal (newSVsv (ERRSV)) : NULL;
  if (aef_xs_rpc_release (aTHX))
    rc = -1;
  if (err)
    sv_setsv (ERRSV, err);
  return rc;
}

void
aef_xs_pool_serve (pTHX_ aef_xs_pool *p, SV *self, SV *err)
{
  AV *st = aef_xs_pool_rec__ (aTHX_ self);
  AV *queue = aef_xs_pool_av__ (aTHX_ st, AEF_XS_POOL_S_QUEUE);

  /* a copy: err may be $@ itself, which the calls below reset */
  err = SvOK (err) ? sv_2mortal (newSVsv (err)) : NULL;

  if ((queue && av_len (queue) >= 0) || SvTRUE (aef_xs_pool_el__ (aTHX_ st, AEF_XS_POOL_S_SHUTDOWN)))
    for (;;)
      {
        SSize_t left = queue ? av_len (queue) + 1 : 0;
        int rc = left
                 ? aef_xs_pool_schedule (aTHX_ p, self)
                 : aef_xs_pool_call__ (aTHX_ "AnyEvent::Fork::Pool::_schedule", self, NULL, NULL);

        if (!rc)
          break;
        if (!err)
          err = sv_2mortal (newSVsv (ERRSV));

        /* no job was dropped: a worker cannot even be started (a
         * serialiser that does not compile, say), and retrying would fail
         * the same way forever */
        if (!queue || av_len (queue) + 1 >= left)
          break;
      }

  if (err)
    croak_sv (err);
}

/* a code reference to an XSUB whose magic holds the n values at vals (in
 * an array), with vtbl */
static SV *
aef_xs_pool_xsub__ (pTHX_ XSUBADDR_t fn, const MGVTBL *vtbl, SV **vals, I32 n)
{
  AV *data = newAV ();
  CV *cv;
  I32 i;

  av_extend (data, n - 1);
  for (i = 0; i < n; i++)
    av_store (data, i, newSVsv (vals[i]));

  cv = newXS (NULL, fn, __FILE__);
  sv_magicext ((SV *)cv, (SV *)data, PERL_MAGIC_ext, vtbl, NULL, 0);
  SvREFCNT_dec (data); /* the magic counts it */
  return newRV_noinc ((SV *)cv);
}

/* ------------------------------------------------------------------------ */
/* a worker's completion callback: an XSUB whose magic holds
 * [heap, pool state, weak worker record, callback queue or undef] */

#define AEF_XS_DONE_HEAP 0
#define AEF_XS_DONE_SELF 1
#define AEF_XS_DONE_W    2
#define AEF_XS_DONE_CBS  3

static MGVTBL aef_xs_pool_done_vtbl__;

/* Call the user's callback cb with the n values at args, under G_EVAL: a
 * plain code reference directly, anything else the way Pool.pm would
 * (&$cb, under strict). 0, or -1 ($@ set). */
static int
aef_xs_pool_callback__ (pTHX_ SV *cb, SV **args, I32 n)
{
  dSP;
  int direct = SvROK (cb) && SvTYPE (SvRV (cb)) == SVt_PVCV && !SvAMAGIC (cb), rc;
  I32 i;

  ENTER;
  SAVETMPS;
  PUSHMARK (SP);
  EXTEND (SP, n + 1);
  if (!direct)
    PUSHs (cb);
  for (i = 0; i < n; i++)
    PUSHs (args[i]);
  PUTBACK;
  if (direct)
    call_sv (cb, G_VOID | G_DISCARD | G_EVAL);
  else
    call_pv ("AnyEvent::Fork::Pool::_call", G_VOID | G_DISCARD | G_EVAL);
  rc = AEF_XS_DIED ? -1 : 0;
  FREETMPS;
  LEAVE;
  return rc;
}

/* A job of the worker completed (@_: its results; async workers: the
 * user's callback first): the bookkeeping first (the callback may die),
 * then the user's callback, then the queue; then its exception. */
static void
aef_xs_pool_done__ (pTHX_ CV *cv)
{
  dXSARGS;
  MAGIC *mg = aef_xs_magic (aTHX_ (SV *)cv, &aef_xs_pool_done_vtbl__);
  AV *data = (AV *)mg->mg_obj;
  SV *heapsv = aef_xs_pool_el__ (aTHX_ data, AEF_XS_DONE_HEAP);
  SV *self = aef_xs_pool_el__ (aTHX_ data, AEF_XS_DONE_SELF);
  SV *weak = aef_xs_pool_el__ (aTHX_ data, AEF_XS_DONE_W);
  AV *cbs = aef_xs_pool_av__ (aTHX_ data, AEF_XS_DONE_CBS);
  aef_xs_pool *p = aef_xs_pool_from (aTHX_ heapsv);
  AV *st = aef_xs_pool_rec__ (aTHX_ self);
  AV *w = SvROK (weak) && SvTYPE (SvRV (weak)) == SVt_PVAV ? (AV *)SvRV (weak) : NULL;
  SV *cb, *pend, *err = &PL_sv_undef;
  SV **args = &ST (0);
  I32 n = items;
  const char *fail;
  int64_t key;
  long pos;

  /* (the callbacks below may drop the pool, the worker, even us) */
  SvREFCNT_inc_simple_void_NN (data);
  sv_2mortal ((SV *)data);

  /* it answered: it is connected */
  if (w && (pend = aef_xs_pool_el__ (aTHX_ w, AEF_XS_POOL_W_PEND)) && SvTRUE (pend))
    {
      sv_setsv (*av_fetch (w, AEF_XS_POOL_W_PEND, 1), &PL_sv_undef);
      sv_setsv (*av_fetch (st, AEF_XS_POOL_S_CFAIL, 1), &PL_sv_undef);
    }

  if (cbs)
    cb = sv_2mortal (av_shift (cbs));
  else if (n)
    {
      cb = sv_2mortal (newSVsv (args[0]));
      args++;
      n--;
    }
  else
    cb = &PL_sv_undef;

  /* one job less at the worker, while it is in the pool */
  if (w && (pos = aef_xs_pool_pos__ (aTHX_ p, w)) >= 0)
    {
      if ((fail = aef_xs_pool_add__ (aTHX_ p, w, pos, -1, &key)))
        croak ("%s", fail);
      if (!key)
        {
          SV *nidle = *av_fetch (st, AEF_XS_POOL_S_NIDLE, 1);

          sv_setiv (nidle, SvIV (nidle) + 1);
          if (!(SvNV (nidle) > SvNV (aef_xs_pool_el__ (aTHX_ st, AEF_XS_POOL_S_IDLE)))
              && aef_xs_pool_call__ (aTHX_ "AnyEvent::Fork::Pool::_want_stop", self, NULL, NULL))
            aef_xs_rethrow (aTHX);
        }
    }

  sv_setsv (*av_fetch (st, AEF_XS_POOL_S_FULL, 1), &PL_sv_undef);

  aef_xs_closure_attach (aTHX_ cb); /* detached while queued */
  if (aef_xs_pool_callback__ (aTHX_ cb, args, n))
    err = ERRSV;

  aef_xs_pool_serve (aTHX_ p, self, err);
  XSRETURN_EMPTY;
}

SV *
aef_xs_pool_done_new (pTHX_ SV *heap, SV *self, SV *w, SV *cbs)
{
  SV *vals[4], *ref;
  MAGIC *mg;

  (void)aef_xs_pool_from (aTHX_ heap);
  (void)aef_xs_pool_rec__ (aTHX_ self);
  (void)aef_xs_pool_rec__ (aTHX_ w);
  if (SvOK (cbs))
    (void)aef_xs_pool_rec__ (aTHX_ cbs);

  vals[AEF_XS_DONE_HEAP] = heap;
  vals[AEF_XS_DONE_SELF] = self;
  vals[AEF_XS_DONE_W] = w;
  vals[AEF_XS_DONE_CBS] = cbs;
  ref = aef_xs_pool_xsub__ (aTHX_ aef_xs_pool_done__, &aef_xs_pool_done_vtbl__, vals, 4);

  /* the worker record is held weakly */
  mg = aef_xs_magic (aTHX_ SvRV (ref), &aef_xs_pool_done_vtbl__);
  sv_rvweaken (*av_fetch ((AV *)mg->mg_obj, AEF_XS_DONE_W, 0));
  return ref;
}

/* ------------------------------------------------------------------------ */
/* the pool's code reference: an XSUB whose magic holds [heap, pool state,
 * shutdown guard] */

#define AEF_XS_ENTRY_HEAP  0
#define AEF_XS_ENTRY_SELF  1
#define AEF_XS_ENTRY_GUARD 2

static MGVTBL aef_xs_pool_entry_vtbl__;

/* $pool->(@args, $cb): queue the job, then schedule unless every worker is
 * known to be at full load */
static void
aef_xs_pool_entry__ (pTHX_ CV *cv)
{
  dXSARGS;
  MAGIC *mg = aef_xs_magic (aTHX_ (SV *)cv, &aef_xs_pool_entry_vtbl__);
  AV *data = (AV *)mg->mg_obj;
  aef_xs_pool *p = aef_xs_pool_from (aTHX_ aef_xs_pool_el__ (aTHX_ data, AEF_XS_ENTRY_HEAP));
  SV *self = aef_xs_pool_el__ (aTHX_ data, AEF_XS_ENTRY_SELF);
  AV *st = aef_xs_pool_rec__ (aTHX_ self);
  AV *queue = aef_xs_pool_av__ (aTHX_ st, AEF_XS_POOL_S_QUEUE); /* (checked when made) */
  AV *job;

  /* (copies of the arguments; nothing is pushed on the save stack before
   * the detach, which looks for this call's temporaries) */
  job = av_make (items, &ST (0));
  av_push (queue, newRV_noinc ((SV *)job));

  /* a fresh closure leaves its package's back-reference list while it
   * waits; our copy in the job is one reference to it */
  if (items)
    aef_xs_closure_detach (aTHX_ AvARRAY (job)[items - 1], 1, 0);

  if (!SvTRUE (aef_xs_pool_el__ (aTHX_ st, AEF_XS_POOL_S_FULL))
      && aef_xs_pool_schedule (aTHX_ p, self))
    aef_xs_rethrow (aTHX);

  XSRETURN_EMPTY;
}

SV *
aef_xs_pool_entry_new (pTHX_ SV *heap, SV *self, SV *guard)
{
  SV *vals[3];

  (void)aef_xs_pool_from (aTHX_ heap);
  if (!aef_xs_pool_av__ (aTHX_ aef_xs_pool_rec__ (aTHX_ self), AEF_XS_POOL_S_QUEUE))
    croak ("AnyEvent::Fork::Pool::Core: pool state without a queue");

  vals[AEF_XS_ENTRY_HEAP] = heap;
  vals[AEF_XS_ENTRY_SELF] = self;
  vals[AEF_XS_ENTRY_GUARD] = guard;
  return aef_xs_pool_xsub__ (aTHX_ aef_xs_pool_entry__, &aef_xs_pool_entry_vtbl__, vals, 3);
}
