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

SV *
aef_xs_pool_adjust (pTHX_ aef_xs_pool *self, SV *rec, IV delta)
{
  AV *av = aef_xs_pool_rec__ (aTHX_ rec);
  long pos = aef_xs_pool_pos__ (aTHX_ self, av);
  int64_t key;
  SV *keysv;

  if (pos < 0)
    return NULL;

  /* the heap's copy of the key is the one that counts */
  key = self->heap.ent[pos].key;
  if (delta > 0 ? key > INT64_MAX - delta : key < INT64_MIN - delta)
    croak ("AnyEvent::Fork::Pool::Core: key overflow");
  keysv = aef_xs_pool_slot__ (aTHX_ av, AEF_XS_POOL_KEY);
  key += delta;
  aef_heap_update_at (&self->heap, (size_t)pos, key);
  sv_setiv (keysv, (IV)key);
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
