# The Pool scheduler heap object (XSUBs; the C part is pool.c, with the
# record layout and ownership). Its methods (no line
# of this comment may start with a preprocessor word: xsubpp keeps those):
#
#   $heap = AnyEvent::Fork::Pool::Core->new
#   $heap->push ($rec)            add a record, keyed on $rec->[0]; croaks if
#                                 it is in the heap already or read-only
#   $rec = $heap->top             the record with the smallest key, or undef
#   $key = $heap->adjust ($rec, $delta)
#                                 add $delta to the key and restore the order;
#                                 returns the new key; returns undef (and
#                                 changes nothing) if $rec is not in the heap
#   $ok = $heap->remove ($rec)    take it out (clears $rec->[1]); false if it
#                                 was not in it
#   $n = $heap->size, @recs = $heap->records (in heap order)
#   $heap->schedule ($pool)       hand queued jobs to the workers (pool.h)
#   $heap->serve ($pool, $err)    serve the queue, then die with $err
#   $done = $heap->done ($pool, $w, $cbs)
#                                 a worker's completion callback (pool.h)
#   $code = $heap->entry ($pool, $guard)
#                                 the pool's code reference (pool.h)

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Pool::Core

PROTOTYPES: DISABLE

SV *
new (SV *klass)
  CODE:
  RETVAL = aef_xs_pool_new (aTHX_ klass);
  OUTPUT: RETVAL

void
push (AnyEvent::Fork::Pool::Core self, SV *rec)
  CODE:
  aef_xs_pool_push (aTHX_ self, rec);

SV *
top (AnyEvent::Fork::Pool::Core self)
  CODE:
  RETVAL = aef_xs_pool_top (aTHX_ self);
  if (!RETVAL)
    XSRETURN_UNDEF;
  OUTPUT: RETVAL

SV *
adjust (AnyEvent::Fork::Pool::Core self, SV *rec, IV delta)
  CODE:
  RETVAL = aef_xs_pool_adjust (aTHX_ self, rec, delta);
  if (!RETVAL)
    XSRETURN_UNDEF;
  OUTPUT: RETVAL

int
remove (AnyEvent::Fork::Pool::Core self, SV *rec)
  CODE:
  RETVAL = aef_xs_pool_remove (aTHX_ self, rec);
  OUTPUT: RETVAL

UV
size (AnyEvent::Fork::Pool::Core self)
  CODE:
  RETVAL = aef_xs_pool_size (self);
  OUTPUT: RETVAL

void
records (AnyEvent::Fork::Pool::Core self)
  PPCODE:
{
  size_t i, n = aef_xs_pool_size (self);

  EXTEND (SP, (SSize_t)n);
  for (i = 0; i < n; i++)
    mPUSHs (aef_xs_pool_at (aTHX_ self, i));
}

void
schedule (AnyEvent::Fork::Pool::Core self, SV *pool)
  CODE:
  if (aef_xs_pool_schedule (aTHX_ self, pool))
    aef_xs_rethrow (aTHX);

void
serve (AnyEvent::Fork::Pool::Core self, SV *pool, SV *err = &PL_sv_undef)
  CODE:
  aef_xs_pool_serve (aTHX_ self, pool, err);

SV *
done (SV *heap, SV *pool, SV *w, SV *cbs = &PL_sv_undef)
  CODE:
  RETVAL = aef_xs_pool_done_new (aTHX_ heap, pool, w, cbs);
  OUTPUT: RETVAL

SV *
entry (SV *heap, SV *pool, SV *guard)
  CODE:
  RETVAL = aef_xs_pool_entry_new (aTHX_ heap, pool, guard);
  OUTPUT: RETVAL
