# Pool glue (XS part), owned by the Pool work: the scheduler heap object
# (see xs/pool.h for the record layout and ownership). Its methods (no line
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

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Pool::Core

PROTOTYPES: DISABLE

SV *
new (SV *klass)
  CODE:
{
  HV *stash = gv_stashsv (klass, GV_ADD);
  aef_xs_pool *p;
  SV *obj;

  Newxz (p, 1, aef_xs_pool);
  aef_heap_init (&p->heap);
  p->recs = newAV ();
  obj = newSV_type (SVt_PVMG);
  sv_magicext (obj, NULL, PERL_MAGIC_ext, &aef_xs_pool_vtbl__, (char *)p, 0);
  RETVAL = sv_bless (newRV_noinc (obj), stash);
}
  OUTPUT: RETVAL

void
push (AnyEvent::Fork::Pool::Core self, SV *rec)
  CODE:
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

void
top (AnyEvent::Fork::Pool::Core self)
  PPCODE:
{
  uint32_t id;

  if (aef_heap_top (&self->heap, &id, NULL) < 0)
    XSRETURN_UNDEF;

  ST (0) = sv_2mortal (newRV_inc (SvRV (*av_fetch (self->recs, id, 0))));
  XSRETURN (1);
}

SV *
adjust (AnyEvent::Fork::Pool::Core self, SV *rec, IV delta)
  CODE:
{
  AV *av = aef_xs_pool_rec__ (aTHX_ rec);
  long pos = aef_xs_pool_pos__ (aTHX_ self, av);
  int64_t key;
  SV *keysv;

  if (pos < 0)
    XSRETURN_UNDEF;

  /* the heap's copy of the key is the one that counts */
  key = self->heap.ent[pos].key;
  if (delta > 0 ? key > INT64_MAX - delta : key < INT64_MIN - delta)
    croak ("AnyEvent::Fork::Pool::Core: key overflow");
  keysv = aef_xs_pool_slot__ (aTHX_ av, AEF_XS_POOL_KEY);
  key += delta;
  aef_heap_update_at (&self->heap, (size_t)pos, key);
  sv_setiv (keysv, (IV)key);
  RETVAL = newSViv ((IV)key);
}
  OUTPUT: RETVAL

int
remove (AnyEvent::Fork::Pool::Core self, SV *rec)
  CODE:
{
  AV *av = aef_xs_pool_rec__ (aTHX_ rec);
  long pos = aef_xs_pool_pos__ (aTHX_ self, av);

  RETVAL = pos >= 0;
  if (RETVAL)
    {
      uint32_t id = self->heap.ent[pos].id;
      SV *idsv = aef_xs_pool_slot__ (aTHX_ av, AEF_XS_POOL_ID);

      aef_heap_remove_at (&self->heap, (size_t)pos);
      sv_setsv (idsv, &PL_sv_undef);
      av_delete (self->recs, id, G_DISCARD); /* rec is still held by ST(1) */
    }
}
  OUTPUT: RETVAL

UV
size (AnyEvent::Fork::Pool::Core self)
  CODE:
  RETVAL = aef_heap_size (&self->heap);
  OUTPUT: RETVAL

void
records (AnyEvent::Fork::Pool::Core self)
  PPCODE:
{
  size_t i, n = aef_heap_size (&self->heap);

  EXTEND (SP, (SSize_t)n);
  for (i = 0; i < n; i++)
    mPUSHs (newRV_inc (SvRV (*av_fetch (self->recs, self->heap.ent[i].id, 0))));
}
