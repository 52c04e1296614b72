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

/* The scheduler, on the pool's state self (a reference to Pool.pm's state
 * array): while jobs are queued, give the first one to the least loaded
 * worker (starting one when there is none), until every worker is at full
 * load. Calls back into Pool.pm (_start_worker, _want_start, _give_async)
 * and the workers' RPC objects, all under G_EVAL. 0, or -1 with $@ set
 * (the job that failed is dropped). Croaks when self is not an array
 * reference. */
int aef_xs_pool_schedule(pTHX_ aef_xs_pool *p, SV *self);

/* Serve the queue after an event (also the shutdown: Pool.pm's _schedule
 * once nothing is queued), then croak with err (the exception of a user
 * callback, or undef). A job the serialiser rejects is dropped; its
 * exception is thrown (unless err is one) once the rest has been served. */
void aef_xs_pool_serve(pTHX_ aef_xs_pool *p, SV *self, SV *err);

/* A worker's completion callback (a new code reference): called with a
 * job's results (async workers: the user's callback first), it counts the
 * job done at worker w (kept weakly) in heap, calls the user's callback
 * (sync workers: the next from the array cbs), serves the pool's queue
 * and rethrows the callback's exception. Holds heap, self and cbs.
 * Croaks (allocating nothing) when an argument has the wrong type. */
SV *aef_xs_pool_done_new(pTHX_ SV *heap, SV *self, SV *w, SV *cbs);

/* The pool's code reference (a new reference): $pool->(@args, $cb) queues
 * the job (its callback detached from its package while it waits, see
 * closure.h) and schedules unless every worker is known to be at full
 * load; rethrows what the scheduler dies of. Holds heap, self and guard
 * (whatever the pool's last reference should release). Croaks (allocating
 * nothing) when heap or self has the wrong type or self has no queue. */
SV *aef_xs_pool_entry_new(pTHX_ SV *heap, SV *self, SV *guard);

#endif
