# RPC glue (XS part), owned by the RPC work. See rpc.h.

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::RPC::Core

PROTOTYPES: DISABLE

const char *
string_serialiser ()
  CODE:
  RETVAL = AEF_XS_STRING_SERIALISER;
  OUTPUT: RETVAL

void
flush_stdout ()
  CODE:
  PerlIO_flush (PerlIO_stdout ());

SV *
new (const char *klass, int async, UV rlen, SV *freeze, SV *thaw, int fast, SV *on_event, SV *on_error, SV *on_destroy)
  CODE:
{
  aef_xs_rpc *st;

  Newxz (st, 1, aef_xs_rpc);
  aef_rpc_init (&st->core, async, rlen);
  st->freeze = newSVsv (freeze);
  st->thaw = newSVsv (thaw);
  st->fast = fast;
  st->on_event = newSVsv (on_event);
  st->on_error = newSVsv (on_error);
  st->on_destroy = newSVsv (on_destroy);
  st->fresh = 1;

  RETVAL = sv_setref_pv (newSV (0), klass, st);
  st->obj = SvRV (RETVAL);
}
  OUTPUT: RETVAL

void
connect (aef_xs_rpc *st, SV *fh)
  CODE:
{
  int fd = aef_xs_fd__ (aTHX_ fh, "fh");

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
    aef_xs_rethrow__ (aTHX);
  st->keep = SvREFCNT_inc_simple_NN (st->obj);

  /* armed once: writes what was queued before, or performs a shutdown
   * requested before the connection existed */
  if (!(st->ww = aef_xs_rpc_io__ (aTHX_ st, 1)))
    aef_xs_rethrow__ (aTHX);
}

SV *
rpc (aef_xs_rpc *st)
  CODE:
{
  CV *call = newXS (NULL, aef_xs_rpc_call__, __FILE__);

  /* counts a reference to the state; the free hook is the guard */
  sv_magicext ((SV *)call, st->obj, PERL_MAGIC_ext, &aef_xs_rpc_guard_vtbl, NULL, 0);
  RETVAL = newRV_noinc ((SV *)call);
}
  OUTPUT: RETVAL

void
DESTROY (SV *self)
  CODE:
{
  aef_xs_rpc *st = SvROK (self) ? aef_xs_rpc_ptr__ (aTHX_ SvRV (self)) : NULL;

  if (st)
    {
      sv_setiv (SvRV (self), 0);
      aef_xs_rpc_destroy__ (aTHX_ st);
    }
}

void
sync_serve (int rfd, int wfd, UV rlen, SV *func, int fast, SV *freeze, SV *thaw)
  CODE:
{
  aef_xs_child *c = &aef_xs_child__;
  int rc;

  aef_xs_child_init__ (aTHX_ rfd, wfd, rlen, func, fast, freeze, thaw, AEF_RPC_HDR_SYNC);
  c->serving = getpid ();
  rc = aef_rpc_sync_serve (&c->sync, aef_xs_sync_handler__, c);
  c->serving = 0;
  aef_rpc_sync_free (&c->sync);

  if (rc == AEF_XS_SYNC_DIED)
    aef_xs_rethrow__ (aTHX);
  if (rc == -E2BIG)
    croak ("AnyEvent::Fork::RPC::Sync: response too large (more than 4294967295 octets)");
  if (rc == -ENOMEM || rc == -EMSGSIZE)
    croak ("AnyEvent::Fork::RPC::Sync: cannot buffer request (%" SVf ")",
           SVfARG (aef_xs_strerror__ (aTHX_ -rc)));
  if (rc)
    croak ("AnyEvent::Fork::RPC::Sync: write error (%" SVf "), parent gone?",
           SVfARG (aef_xs_strerror__ (aTHX_ -rc)));
}

void
sync_event (...)
  CODE:
{
  int rc;

  aef_xs_child_frame__ (aTHX_ 0, &ST (0), items);
  /* written at once, after the responses queued before it */
  rc = aef_rpc_sync_flush (&aef_xs_child__.sync);
  if (rc)
    croak ("AnyEvent::Fork::RPC::Sync: write error (%" SVf "), parent gone?",
           SVfARG (aef_xs_strerror__ (aTHX_ -rc)));
}

void
sync_exit ()
  CODE:
  /* the process exits from inside the function: what was answered before
   * still reaches the parent (errors do not matter any more) */
  if (aef_xs_child__.serving == getpid ())
    aef_rpc_sync_flush (&aef_xs_child__.sync);

void
async_setup (int rfd, int wfd, UV rlen, SV *func, int fast, SV *freeze, SV *thaw, SV *arm)
  CODE:
  aef_xs_child_init__ (aTHX_ rfd, wfd, rlen, func, fast, freeze, thaw, AEF_RPC_HDR);
  aef_xs_child__.arm = newSVsv (arm);
  aef_set_nonblock (rfd, 1);
  aef_set_nonblock (wfd, 1);

int
async_read ()
  CODE:
{
  aef_xs_child *c = &aef_xs_child__;
  ssize_t n;

  /* requests left behind by a function that died last time come first */
  if (aef_xs_async_dispatch__ (aTHX))
    aef_xs_rethrow__ (aTHX);

  n = aef_rpc_reader_fill (&c->sync.in, c->sync.rfd);

  if (n > 0)
    {
      if (aef_xs_async_dispatch__ (aTHX))
        aef_xs_rethrow__ (aTHX);
      aef_rpc_reader_trim (&c->sync.in);
      RETVAL = 1;
    }
  else if (n == -EAGAIN)
    RETVAL = 1;
  else if (n == 0 || n == -EINVAL)
    RETVAL = 0;
  else
    {
      errno = -(int)n;
      RETVAL = -1;
    }
}
  OUTPUT: RETVAL

IV
async_write ()
  CODE:
{
  aef_xs_child *c = &aef_xs_child__;
  ssize_t left = aef_rpc_sync_write (&c->sync);

  if (left == 0)
    c->armed = 0;

  if (left < 0)
    {
      errno = -(int)left;
      RETVAL = -1;
    }
  else
    RETVAL = left;
}
  OUTPUT: RETVAL

void
async_arm ()
  CODE:
  aef_xs_async_arm__ (aTHX);

void
async_event (...)
  CODE:
  aef_xs_child_frame__ (aTHX_ 0, &ST (0), items);
  aef_xs_async_arm__ (aTHX);

int
async_flush ()
  CODE:
  RETVAL = aef_rpc_buf_flush (&aef_xs_child__.sync.out, aef_xs_child__.sync.wfd) == 0;
  OUTPUT: RETVAL

IV
async_busy (IV delta = 0)
  CODE:
  RETVAL = aef_xs_child__.busy += delta;
  OUTPUT: RETVAL
