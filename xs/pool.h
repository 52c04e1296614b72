/*
 * Pool glue (C part), owned by the Pool work.
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
 * The object is a blessed reference to a scalar carrying ext magic with the
 * vtable below; the magic's free hook releases the C struct and the records
 * when the object goes away, and the vtable's address is what tells our
 * objects from foreign ones.
 */
#include "aef_heap.h"

#define AEF_XS_POOL_KEY 0
#define AEF_XS_POOL_ID  1

typedef struct aef_xs_pool {
  aef_heap heap;
  AV *recs; /* recs[id]: reference to the record with that id, or empty */
} aef_xs_pool;

typedef aef_xs_pool *AnyEvent__Fork__Pool__Core;

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

/* The struct behind a heap object; croaks on anything else. */
static aef_xs_pool *
aef_xs_pool_get__ (pTHX_ SV *sv)
{
  MAGIC *mg;

  if (SvROK (sv)
      && (mg = mg_findext (SvRV (sv), PERL_MAGIC_ext, &aef_xs_pool_vtbl__))
      && mg->mg_ptr)
    return (aef_xs_pool *)mg->mg_ptr;

  croak ("AnyEvent::Fork::Pool::Core: not a pool heap object");
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
