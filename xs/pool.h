/*
 * pool.h - the AnyEvent::Fork::Pool scheduler heap (pool.c; XSUBs in
 * pool.xsh): worker records (array references) ordered by load.
 */
#ifndef AEF_XS_POOL_H
#define AEF_XS_POOL_H

#include "util.h"

/* opaque outside pool.c; typemap T_AEF_POOL */
typedef struct aef_xs_pool aef_xs_pool;
typedef aef_xs_pool *AnyEvent__Fork__Pool__Core;

/* The struct behind a heap object; croaks on anything else. */
aef_xs_pool *aef_xs_pool_from(pTHX_ SV *sv);

/* A new empty heap object blessed into klass (a new reference). */
SV *aef_xs_pool_new(pTHX_ SV *klass);

/* Add rec, keyed on rec->[0]; croaks if rec is not an array reference, is
 * in the heap already or is read-only. */
void aef_xs_pool_push(pTHX_ aef_xs_pool *self, SV *rec);

/* A new reference to the record with the smallest key, or NULL. */
SV *aef_xs_pool_top(pTHX_ aef_xs_pool *self);

/* Add delta to rec's key and restore the order: the new key (a new SV),
 * or NULL (nothing changed) when rec is not in the heap. Croaks on
 * overflow and on a read-only record. */
SV *aef_xs_pool_adjust(pTHX_ aef_xs_pool *self, SV *rec, IV delta);

/* Take rec out (clears rec->[1]): 1, or 0 when it was not in the heap. */
int aef_xs_pool_remove(pTHX_ aef_xs_pool *self, SV *rec);

/* Number of records, and a new reference to the one at heap position i
 * (i < size). */
size_t aef_xs_pool_size(aef_xs_pool *self);
SV *aef_xs_pool_at(pTHX_ aef_xs_pool *self, size_t i);

#endif
