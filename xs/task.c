/*
 * Task glue (C part): the objects over the splitter and the worker loop.
 * See xs/task.h for the contracts.
 */
#include "util.h"
#include "task.h"
#include "closure.h"

#include <sys/socket.h>
#include <unistd.h>

static MGVTBL aef_xs_task_split_vtbl__, aef_xs_task_loop_vtbl__;

/* the magic's free hook, for both kinds of object */
static int
aef_xs_task_free__ (pTHX_ SV *sv, MAGIC *mg)
{
  void *p = mg->mg_ptr;

  mg->mg_ptr = NULL;
  if (!p)
    return 0;
  if (mg->mg_virtual == &aef_xs_task_split_vtbl__)
    aef_task_split_free ((aef_task_split *)p);
  else
    aef_task_worker_free ((aef_task_worker *)p);
  Safefree (p);
  return 0;
}

static MGVTBL aef_xs_task_split_vtbl__ = { 0, 0, 0, 0, aef_xs_task_free__, 0, 0, 0 };
static MGVTBL aef_xs_task_loop_vtbl__ = { 0, 0, 0, 0, aef_xs_task_free__, 0, 0, 0 };

SV *
aef_xs_task_split_new (pTHX_ SV *klass, UV max)
{
  HV *stash = gv_stashsv (klass, GV_ADD);
  aef_task_split *s;

  if (max > AEF_TASK_MSG_MAX)
    croak ("AnyEvent::Task::Split: bound larger than %u", (unsigned)AEF_TASK_MSG_MAX);
  Newxz (s, 1, aef_task_split);
  aef_task_split_init (s, (size_t)max);
  return aef_xs_obj_new (aTHX_ stash, &aef_xs_task_split_vtbl__, s);
}

SV *
aef_xs_task_loop_new (pTHX_ SV *klass, int fd, unsigned alarm_secs)
{
  HV *stash = gv_stashsv (klass, GV_ADD);
  aef_task_worker *w;
  int rc;

  Newxz (w, 1, aef_task_worker);
  rc = aef_task_worker_init (w, fd, alarm_secs);
  if (rc < 0)
    {
      Safefree (w);
      errno = -rc;
      return &PL_sv_undef;
    }
  return aef_xs_obj_new (aTHX_ stash, &aef_xs_task_loop_vtbl__, w);
}

/* the struct behind an object of the kind vtbl; croaks naming the class */
static void *
aef_xs_task_ptr__ (pTHX_ SV *sv, const MGVTBL *vtbl, const char *klass)
{
  void *p = aef_xs_obj_ptr (aTHX_ sv, vtbl);

  if (!p)
    croak ("%s: not an object of this class", klass);
  return p;
}

aef_task_split *
aef_xs_task_split_get (pTHX_ SV *sv)
{
  return (aef_task_split *)aef_xs_task_ptr__ (aTHX_ sv, &aef_xs_task_split_vtbl__,
                                              "AnyEvent::Task::Split");
}

aef_task_worker *
aef_xs_task_loop_get (pTHX_ SV *sv)
{
  return (aef_task_worker *)aef_xs_task_ptr__ (aTHX_ sv, &aef_xs_task_loop_vtbl__,
                                               "AnyEvent::Task::Server::Worker::Loop");
}

SV *
aef_xs_task_split_take (pTHX_ aef_task_split *s)
{
  const uint8_t *m;
  size_t len;
  int r = aef_task_split_next (s, &m, &len);

  if (r == 0)
    return &PL_sv_undef;
  if (r < 0)
    return sv_2mortal (newSVpvn ("", 0));
  return sv_2mortal (newSVpvn ((const char *)m, len));
}

long
aef_xs_task_split_fill (pTHX_ aef_task_split *s, int fd)
{
  char chunk[AEF_TASK_CHUNK];
  ssize_t got;
  int rc;

  do
    got = read (fd, chunk, sizeof chunk);
  while (got < 0 && errno == EINTR);

  if (got < 0)
    return -errno;
  if (got > 0 && (rc = aef_task_split_feed (s, chunk, (size_t)got)) < 0)
    return rc;
  return (long)got;
}

/* fork as perl's fork does, for the forker's loop (perl's handles are
 * flushed once, before the loop: the forker writes through none) */
static pid_t
aef_xs_task_fork__ (void *arg)
{
  dTHXa ((PerlInterpreter *)arg);
  PERL_UNUSED_ARG (arg);

  return aef_xs_fork (aTHX_ 0);
}

int
aef_xs_task_forker_next (pTHX_ int hand, int *fd, UV *n)
{
  uint64_t num;
  int rc;

  PERL_FLUSHALL_FOR_CHILD;
  rc = aef_task_forker_next (hand, aef_xs_task_fork__, (void *)aTHX, fd, &num);
  if (rc == 0)
    *n = (UV)num;
  return rc;
}

/* ------------------------------------------------------------------------ */
/* the code ref of a checkout: $checkout->(ARGS, $cb)                        */

/* ext magic on the code's CV: mg_obj (reference counted) is an array of
 * what the code is bound to: the checkout (our own reference), and what
 * the fast way uses (see aef_xs_task_code_new) */
static MGVTBL aef_xs_task_code_vtbl__;

enum {
  AEF_XS_TASK_CODE_SELF, AEF_XS_TASK_CODE_RECORD, AEF_XS_TASK_CODE_JSON,
  AEF_XS_TASK_CODE_HERE, AEF_XS_TASK_CODE_TOP, AEF_XS_TASK_CODE_N
};

/* $h->{key} when it exists, else NULL (nothing is created) */
static SV *
aef_xs_task_field__ (pTHX_ HV *h, const char *key, I32 klen)
{
  SV **svp = hv_fetch (h, key, klen, 0);

  return svp ? *svp : NULL;
}

#define AEF_XS_FIELD(h, key) aef_xs_task_field__ (aTHX_ (h), "" key "", (I32)(sizeof (key) - 1))

/* the hash a field refers to, or NULL */
static HV *
aef_xs_task_hv__ (SV *sv)
{
  return sv && SvROK (sv) && SvTYPE (SvRV (sv)) == SVt_PVHV ? (HV *)SvRV (sv) : NULL;
}

static AV *
aef_xs_task_av__ (SV *sv)
{
  return sv && SvROK (sv) && SvTYPE (SvRV (sv)) == SVt_PVAV ? (AV *)SvRV (sv) : NULL;
}

/* Call the code cv (or, when NULL, the method of that name on args[0])
 * with the n values at args in scalar context, under G_EVAL: its result as
 * a new reference (the caller owns it), or NULL when it died. */
static SV *
aef_xs_task_call_scalar__ (pTHX_ SV *cv, const char *method, SV **args, I32 n)
{
  dSP;
  SV *ret = NULL;
  I32 i, count;

  ENTER;
  SAVETMPS;
  PUSHMARK (SP);
  EXTEND (SP, n);
  for (i = 0; i < n; i++)
    PUSHs (args[i]);
  PUTBACK;
  count = cv ? call_sv (cv, G_SCALAR | G_EVAL) : call_method (method, G_SCALAR | G_EVAL);
  SPAGAIN;
  if (count == 1 && !AEF_XS_DIED)
    ret = newSVsv (POPs);
  else
    SP -= count;
  PUTBACK;
  FREETMPS;
  LEAVE;
  return ret;
}

/* Call the Perl sub name with the n values at args, under G_EVAL (its
 * result is dropped): 0, or -1 ($@ set). */
static int
aef_xs_task_call_void__ (pTHX_ const char *name, SV **args, I32 n)
{
  SV *ret = aef_xs_task_call_scalar__ (aTHX_ (SV *)get_cv (name, GV_ADD), NULL, args, n);

  if (!ret)
    return -1;
  SvREFCNT_dec (ret);
  return 0;
}

/* Whether the checkout co can take a call the fast way now: bound to a
 * live worker that is not retiring, with nothing queued before the call,
 * no fatal error, no deferred log, no timer to arm (_arm would do
 * nothing). Sets *w and *handlers. */
static int
aef_xs_task_ready__ (pTHX_ HV *co, HV **w, AV **handlers)
{
  AV *queue = aef_xs_task_av__ (AEF_XS_FIELD (co, "queue"));
  SV *sv;

  *w = aef_xs_task_hv__ (AEF_XS_FIELD (co, "worker"));
  if (!*w || !queue || AvFILLp (queue) >= 0
      || ((sv = AEF_XS_FIELD (co, "fatal")) && SvOK (sv))
      || ((sv = AEF_XS_FIELD (co, "log")) && SvTRUE (sv)))
    return 0;
  if (!((sv = AEF_XS_FIELD (co, "timer")) && SvTRUE (sv))
      && ((sv = AEF_XS_FIELD (co, "timeout")) && SvOK (sv))
      && !((sv = AEF_XS_FIELD (co, "no_timer")) && SvTRUE (sv)))
    return 0;
  *handlers = aef_xs_task_av__ (AEF_XS_FIELD (*w, "handlers"));
  return *handlers && !((sv = AEF_XS_FIELD (*w, "dead")) && SvTRUE (sv))
         && !((sv = AEF_XS_FIELD (*w, "retire")) && SvTRUE (sv))
         && AEF_XS_FIELD (*w, "wbuf") && AEF_XS_FIELD (co, "record");
}

/* The descriptor of the worker w's connection ($w->{fh}), or -1 */
static int
aef_xs_task_fd__ (pTHX_ HV *w)
{
  SV *fh = AEF_XS_FIELD (w, "fh");
  IO *io;

  if (!fh || !SvROK (fh) || !isGV_with_GP (SvRV (fh)) || !(io = GvIO ((GV *)SvRV (fh))) || !IoIFP (io))
    return -1;
  return PerlIO_fileno (IoIFP (io));
}

/* Write the worker w's buffer, as AnyEvent::Task::Client::_flush: here
 * when the socket takes all of it at once and the worker is not retiring;
 * otherwise (what is left, an error, no MSG_NOSIGNAL) through _flush. 0,
 * or -1 when that died ($@). */
static int
aef_xs_task_flush__ (pTHX_ HV *w)
{
  SV *wbuf = AEF_XS_FIELD (w, "wbuf"), *retire = AEF_XS_FIELD (w, "retire"), *ref;
  int fd;

#ifdef MSG_NOSIGNAL
  if (wbuf && !(retire && SvTRUE (retire)) && (fd = aef_xs_task_fd__ (aTHX_ w)) >= 0)
    {
      STRLEN len;
      const char *p = SvPVbyte (wbuf, len);
      ssize_t n;

      do
        n = send (fd, p, len, MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
      if (n >= 0 && (size_t)n == len)
        {
          sv_setpvs (wbuf, "");
          return 0;
        }
      if (n > 0)
        sv_chop (wbuf, p + n);
    }
#else
  PERL_UNUSED_VAR (retire);
  PERL_UNUSED_VAR (fd);
#endif
  ref = sv_2mortal (newRV_inc ((SV *)w));
  return aef_xs_task_call_void__ (aTHX_ "AnyEvent::Task::Client::_flush", &ref, 1);
}

/* The referent of a reference, NULL for undef, (SV *)1 for anything else */
static SV *
aef_xs_task_addr__ (SV *sv)
{
  return !sv || !SvOK (sv) ? NULL : SvROK (sv) ? SvRV (sv) : (SV *)1;
}

/* The record Callback::Frame::_aef_record would return again for a call
 * now with the callback cb (a plain code reference) and the frame name
 * name (NULL: none), found without calling it: the checkout's last record
 * (co->{record}, held weakly) when it is alive and was made under the
 * frame now current ($Callback::Frame::top, the glob topgv) with the same
 * name, and cb is no frame. A frame is code compiled in the package of
 * the record function record (Callback::Frame); code without a package
 * (see xs/closure.c) may be one too: both are left to _aef_record. A new
 * reference to the record, or NULL when _aef_record must decide. */
static SV *
aef_xs_task_record_again__ (pTHX_ HV *co, SV *cb, SV *name, SV *record, SV *topgv)
{
  SV *slot = AEF_XS_FIELD (co, "record"), *top, *sv, *p1, *p2;
  HV *rec, *fstash, *cbstash = CvSTASH ((CV *)SvRV (cb));

  if (SvTYPE (SvRV (record)) != SVt_PVCV)
    return NULL;
  fstash = CvSTASH ((CV *)SvRV (record));
  if (!slot || !SvROK (slot) || SvTYPE (SvRV (slot)) != SVt_PVHV || SvOBJECT (SvRV (slot))
      || !fstash || !cbstash || cbstash == fstash
      || !SvROK (topgv) || !isGV_with_GP (SvRV (topgv)))
    return NULL;
  rec = (HV *)SvRV (slot);
  top = GvSV ((GV *)SvRV (topgv));
  p1 = aef_xs_task_addr__ (AEF_XS_FIELD (rec, "parent"));
  p2 = aef_xs_task_addr__ (top);
  if (p1 != p2 || p1 == (SV *)1)
    return NULL;
  sv = AEF_XS_FIELD (rec, "name");
  if (name ? !(sv && SvOK (sv) && sv_eq (sv, name)) : sv && SvOK (sv))
    return NULL;
  return newSVsv (slot);
}

/* The common case of a call, done here: a plain code reference as the
 * callback, our own Callback::Frame, and a checkout ready for it (see
 * above). 1 when done; 0 when the caller must go the general way (nothing
 * visible changed), then with *copied the arguments (without the
 * callback) as read once, when they were: reading a tied value runs code
 * of the caller's, so they are read once only, and the checkout is looked
 * at again after that. When done, *flush is the worker when its buffer
 * must go out now (see aef_xs_task_flush__), else left alone. */
static int
aef_xs_task_fast_call__ (pTHX_ SV **bound, SV **args, I32 items, AV **copied, HV **flush)
{
  SV *self = bound[AEF_XS_TASK_CODE_SELF];
  HV *co = aef_xs_task_hv__ (self), *w, *client;
  SV *cb = items ? args[items - 1] : NULL;
  SV *sv, *name = NULL, *rec = NULL, *json = NULL, *argsref, *bytes, *f, *hargs[5], *record;
  AV *handlers, *h, *here;
  STRLEN len;
  const char *p;
  int done = 0, perl = 0;
  I32 i;

  if (!co || !cb || !SvROK (cb) || SvTYPE (SvRV (cb)) != SVt_PVCV || SvOBJECT (SvRV (cb))
      || !aef_xs_task_ready__ (aTHX_ co, &w, &handlers))
    return 0;

  /* Whether code of the caller's may run before the request is written
   * (and may have changed the checkout): reading a magical argument,
   * _aef_record, an encoder written in Perl, or one that meets a
   * reference (a tied container, TO_JSON) */
  for (i = 0; i < items - 1 && !perl; i++)
    perl = SvGMAGICAL (args[i]) || SvROK (args[i]);

  /* the arguments, copied before any call into Perl may move the stack */
  *copied = av_make (items - 1, args);
  argsref = sv_2mortal (newRV_noinc ((SV *)*copied));

  /* the frame's name, as _queue_request puts it */
  client = aef_xs_task_hv__ (AEF_XS_FIELD (co, "client"));
  if (client && (sv = AEF_XS_FIELD (client, "name")) && SvOK (sv))
    {
      name = sv_2mortal (newSVsv (sv));
      sv_catpvs (name, " -> NO METHOD");
    }

  /* the record (nothing when the callback is a frame already) */
  record = bound[AEF_XS_TASK_CODE_RECORD];
  here = aef_xs_task_av__ (bound[AEF_XS_TASK_CODE_HERE]);
  if (!SvROK (record) || !here || AvFILL (here) != 1)
    return 0;
  rec = aef_xs_task_record_again__ (aTHX_ co, cb, name, record, bound[AEF_XS_TASK_CODE_TOP]);
  if (!rec)
    {
      perl = 1;
      hargs[0] = name ? name : &PL_sv_undef;
      hargs[1] = AEF_XS_FIELD (co, "record");
      hargs[2] = cb;
      hargs[3] = *av_fetch (here, 0, 1);
      hargs[4] = *av_fetch (here, 1, 1);
      rec = aef_xs_task_call_scalar__ (aTHX_ SvRV (record), NULL, hargs, 5);
      if (!rec)
        return 0;
    }

  /* ["do",{},ARGS...] */
  if (items > 1)
    {
      SV *encargs[2], *obj;
      GV *gv;
      CV *enc;

      encargs[0] = SvROK (bound[AEF_XS_TASK_CODE_JSON]) ? SvRV (bound[AEF_XS_TASK_CODE_JSON]) : NULL;
      encargs[1] = argsref;
      obj = encargs[0] && SvROK (encargs[0]) ? SvRV (encargs[0]) : NULL;
      if (!obj || !SvOBJECT (obj) || !(gv = gv_fetchmethod_autoload (SvSTASH (obj), "encode", 0))
          || !isGV (gv) || !(enc = GvCV (gv)))
        goto cleanup;
      perl |= !CvISXSUB (enc);
      if (!(json = aef_xs_task_call_scalar__ (aTHX_ (SV *)enc, NULL, encargs, 2)))
        goto cleanup;
    }
  if (json)
    {
      p = SvPVbyte (json, len);
      if (len < 2)
        goto cleanup;
      bytes = sv_2mortal (newSVpvs ("[\"do\",{},"));
      sv_catpvn (bytes, p + 1, len - 1);
    }
  else
    bytes = sv_2mortal (newSVpvs ("[\"do\",{}]"));
  if (perl && !aef_xs_task_ready__ (aTHX_ co, &w, &handlers))
    goto cleanup;

  /* _send: the callback's frame, the current request, the reply handler.
   * A fresh closure made for this call leaves its package's list of back
   * references while it waits (see xs/closure.c): perl would otherwise
   * scan that list for each of many queued closures freed in the order
   * they were made; Checkout::_reply puts it back before calling it. */
  if (SvOK (rec))
    {
      AV *pair = newAV ();

      aef_xs_closure_detach (aTHX_ cb, 0, 0);
      av_push (pair, SvREFCNT_inc_simple_NN (rec));
      av_push (pair, newSVsv (cb));
      f = sv_2mortal (newRV_noinc ((SV *)pair));
    }
  else
    f = cb;
  sv = *hv_fetchs (co, "current", 1);
  sv_setsv (sv, f);
  sv_rvweaken (sv);

  h = newAV ();
  av_extend (h, 4);
  av_push (h, newSVsv (self));
  av_push (h, newSVsv (f));
  av_push (h, newSV (0));
  av_push (h, newSV (0));
  av_push (h, (sv = AEF_XS_FIELD (co, "code")) ? newSVsv (sv) : newSV (0));
  av_push (handlers, newRV_noinc ((SV *)h));
  sv_catsv (AEF_XS_FIELD (w, "wbuf"), bytes);
  done = 1;
  /* out at once unless an earlier request is unanswered or the socket is
   * full (AnyEvent::Task::Client::_write's rule) */
  if (!((sv = AEF_XS_FIELD (w, "ww")) && SvTRUE (sv)) && AvFILL (handlers) < 1)
    *flush = w;

cleanup:
  SvREFCNT_dec (rec);
  SvREFCNT_dec (json);
  return done;
}

/* the code's body: the fast way, or _queue_request ($checkout, undef, ARGS) */
static XSPROTO (aef_xs_task_call__)
{
  dXSARGS;
  MAGIC *mg = aef_xs_magic (aTHX_ (SV *)cv, &aef_xs_task_code_vtbl__);
  AV *bound = mg ? (AV *)mg->mg_obj : NULL, *copied = NULL;
  HV *flush = NULL;
  SV *self;
  CV *general;
  I32 i;

  if (!bound || SvTYPE ((SV *)bound) != SVt_PVAV || AvFILLp (bound) != AEF_XS_TASK_CODE_N - 1)
    croak ("AnyEvent::Task::Client::Checkout: a call without its checkout");
  self = AvARRAY (bound)[AEF_XS_TASK_CODE_SELF];
  if (aef_xs_task_fast_call__ (aTHX_ AvARRAY (bound), &ST (0), items, &copied, &flush))
    {
      if (flush && aef_xs_task_flush__ (aTHX_ flush))
        aef_xs_rethrow (aTHX);
      XSRETURN_EMPTY;
    }
  /* (the copies are mortal: they live until the statement ends) */
  if (copied)
    for (i = 0; i < items - 1; i++)
      ST (i) = AvARRAY (copied)[i];

  general = get_cv ("AnyEvent::Task::Client::Checkout::_queue_request", 0);
  if (!general)
    croak ("AnyEvent::Task::Client::Checkout: _queue_request is missing");
  /* the arguments move up by two: self, undef (EXTEND may move the stack:
   * ST and ax stay valid, pointers do not) */
  SP = PL_stack_base + ax + items - 1;
  EXTEND (SP, 2);
  for (i = items - 1; i >= 0; i--)
    ST (i + 2) = ST (i);
  ST (0) = self;
  ST (1) = &PL_sv_undef;
  SP = PL_stack_base + ax + items + 1;
  PUSHMARK (PL_stack_base + ax - 1);
  PUTBACK;
  call_sv ((SV *)general, G_VOID | G_DISCARD | G_EVAL);
  if (AEF_XS_DIED)
    aef_xs_rethrow (aTHX);
  XSRETURN_EMPTY;
}

SV *
aef_xs_task_code_new (pTHX_ SV *checkout, SV *record, SV *json, SV *here, SV *top)
{
  CV *code;
  AV *bound;

  if (!aef_xs_task_hv__ (checkout))
    croak ("AnyEvent::Task::Client::Checkout::_code: not a checkout");
  bound = newAV ();
  av_push (bound, newSVsv (checkout));
  av_push (bound, newSVsv (record));
  av_push (bound, newSVsv (json));
  av_push (bound, newSVsv (here));
  av_push (bound, newSVsv (top));
  code = newXS (NULL, aef_xs_task_call__, __FILE__);
  sv_magicext ((SV *)code, (SV *)bound, PERL_MAGIC_ext, &aef_xs_task_code_vtbl__, NULL, 0);
  SvREFCNT_dec ((SV *)bound);
  return newRV_noinc ((SV *)code);
}

/* ------------------------------------------------------------------------ */
/* the client's replies: every complete one, in one call per read           */

/* Decode the reply m with the JSON codec json (its decode method is
 * dec): the array it holds as a new reference, or NULL (not JSON, or not
 * an array: the connection is broken). */
static SV *
aef_xs_task_decode__ (pTHX_ SV *json, CV *dec, const uint8_t *m, size_t len)
{
  SV *args[2], *reply;

  args[0] = json;
  args[1] = sv_2mortal (newSVpvn ((const char *)m, len));
  reply = aef_xs_task_call_scalar__ (aTHX_ (SV *)dec, NULL, args, 2);
  if (reply && !aef_xs_task_av__ (reply))
    {
      SvREFCNT_dec (reply);
      reply = NULL;
    }
  return reply;
}

/* Whether av is tied (a weak reference to it adds magic too) */
#define AEF_XS_TIED(av) (SvRMAGICAL ((SV *)(av)) && mg_find ((SV *)(av), PERL_MAGIC_tied))

/* The field i of the array av (not tied), or NULL */
static SV *
aef_xs_task_el__ (pTHX_ AV *av, SSize_t i)
{
  return av && !AEF_XS_TIED (av) && AvFILLp (av) >= i ? AvARRAY (av)[i] : NULL;
}

/* What the reply loop looks up once per read: the JSON codec and its
 * decode method, AnyEvent::Task::Client::Checkout::_call (it calls its
 * first argument with the rest, $@ undefined), the glob of
 * $Callback::Frame::top (the frame a light frame's code runs in). */
typedef struct aef_xs_task_rl__ {
  SV *json;
  CV *dec, *call;
  GV *top;
} aef_xs_task_rl__;

/* Run the callback of an "ok" reply in its light frame fa ([record,
 * code]) as Callback::Frame::_aef_run does, inside a local $@ = undef:
 * ($checkout, $result) are args. When it dies, the error is raised in the
 * frame (Checkout::_raise: the frame's handlers, or it dies on). 0, or -1
 * with the final error in $@. */
static int
aef_xs_task_run_ok__ (pTHX_ const aef_xs_task_rl__ *rl, SV *f, AV *fa, SV **args)
{
  dSP;
  SV *code = AvARRAY (fa)[1], *err = NULL, *rargs[2];
  int rc;

  /* (its code may have left its package's back references: see above) */
  aef_xs_closure_attach (aTHX_ code);
  ENTER;
  SAVETMPS;
  save_scalar (PL_errgv);
  sv_setsv (save_scalar (rl->top), AvARRAY (fa)[0]);
  PUSHMARK (SP);
  EXTEND (SP, 3);
  PUSHs (code);
  PUSHs (args[0]);
  PUSHs (args[1]);
  PUTBACK;
  call_sv ((SV *)rl->call, G_VOID | G_DISCARD | G_EVAL);
  if (AEF_XS_DIED)
    err = newSVsv (ERRSV);
  FREETMPS;
  LEAVE;
  if (!err)
    return 0;
  rargs[0] = f;
  rargs[1] = sv_2mortal (err);
  rc = aef_xs_task_call_void__ (aTHX_ "AnyEvent::Task::Client::Checkout::_raise", rargs, 2);
  return rc;
}

/* Handle one reply (a reference to its array) with its handler h (a
 * reference to [checkout, callback's frame, deferred log, log timer,
 * code]): an "ok" for a light frame without a deferred log here, anything
 * else through Checkout::_reply. 0, or -1 with what it died with in $@. */
static int
aef_xs_task_reply__ (pTHX_ const aef_xs_task_rl__ *rl, SV *h, SV *reply)
{
  AV *ha = aef_xs_task_av__ (h), *ra = aef_xs_task_av__ (reply);
  SV *self = aef_xs_task_el__ (aTHX_ ha, 0), *f = aef_xs_task_el__ (aTHX_ ha, 1);
  SV *log = aef_xs_task_el__ (aTHX_ ha, 2), *kind = aef_xs_task_el__ (aTHX_ ra, 0), *val, *args[2], *sv = NULL;
  AV *fa = aef_xs_task_av__ (f), *queue;
  HV *co = aef_xs_task_hv__ (self);
  STRLEN klen;
  const char *k;
  int rc = 0, died;

  if (!co || !fa || AvFILLp (fa) != 1 || AEF_XS_TIED (fa) || (log && SvTRUE (log))
      || !kind || SvROK (kind) || !SvOK (kind)
      || (k = SvPV (kind, klen), klen != 2 || k[0] != 'o' || k[1] != 'k'))
    {
      dSP;

      ENTER;
      SAVETMPS;
      PUSHMARK (SP);
      XPUSHs (h);
      XPUSHs (reply);
      PUTBACK;
      if (call_pv ("AnyEvent::Task::Client::Checkout::_reply", G_SCALAR | G_EVAL) == 1)
        {
          SPAGAIN;
          sv = POPs;
          PUTBACK;
          if (AEF_XS_DIED)
            rc = -1;
          else if ((fa = aef_xs_task_av__ (sv)) && AvFILLp (fa) >= 0)
            {
              sv_setsv (ERRSV, AvARRAY (fa)[0]);
              rc = -1;
            }
        }
      else
        rc = -1;
      FREETMPS;
      LEAVE;
      return rc;
    }

  /* the callback, as Checkout::_reply calls it: ($checkout, $result),
   * the checkout a copy of ours (the callback may assign to it) */
  val = aef_xs_task_el__ (aTHX_ ra, 2);
  args[0] = sv_2mortal (newSVsv (self));
  args[1] = val ? val : &PL_sv_undef;
  died = aef_xs_task_run_ok__ (aTHX_ rl, f, fa, args);
  if (died)
    {
      /* kept aside: the bookkeeping below may run code that evals */
      sv = sv_2mortal (newSVsv (ERRSV));
      rc = -1;
    }

  /* the reply handled: the timer goes, the next queued request is written */
  (void)hv_deletes (co, "timer", G_DISCARD);
  queue = aef_xs_task_av__ (AEF_XS_FIELD (co, "queue"));
  if (queue && AvFILL (queue) >= 0
      && aef_xs_task_call_void__ (aTHX_ "AnyEvent::Task::Client::Checkout::_pump", &self, 1) && !died)
    {
      sv = sv_2mortal (newSVsv (ERRSV));
      rc = -1;
    }
  if (rc)
    sv_setsv (ERRSV, sv);
  return rc;
}

SV *
aef_xs_task_replies (pTHX_ SV *client, SV *worker)
{
  HV *w = aef_xs_task_hv__ (worker);
  SV *splitsv = w ? AEF_XS_FIELD (w, "split") : NULL, *jsonsv, *err = NULL, *dead, *args[2];
  aef_task_split *s;
  aef_xs_task_rl__ rl;
  HV *stash;
  GV *gv;
  CV *dec = NULL;

  if (!splitsv)
    croak ("AnyEvent::Task::Client::_replies: not a worker");
  s = aef_xs_task_split_get (aTHX_ splitsv);
  jsonsv = get_sv ("AnyEvent::Task::Client::JSON", 0);
  if (jsonsv && SvROK (jsonsv) && SvOBJECT (SvRV (jsonsv))
      && (stash = SvSTASH (SvRV (jsonsv)))
      && (gv = gv_fetchmethod_autoload (stash, "decode", 0)) && isGV (gv))
    dec = GvCV (gv);
  if (!dec)
    croak ("AnyEvent::Task::Client::_replies: no JSON decoder");
  rl.call = get_cvs ("AnyEvent::Task::Client::Checkout::_call", 0);
  if (!rl.call)
    croak ("AnyEvent::Task::Client::_replies: AnyEvent::Task::Client::Checkout::_call is missing");
  rl.top = gv_fetchpvs ("Callback::Frame::top", GV_ADD, SVt_PV);
  rl.json = jsonsv;
  rl.dec = dec;

  /* alive until the end, whatever the callbacks drop */
  SvREFCNT_inc_simple_void_NN ((SV *)w);
  SvREFCNT_inc_simple_void_NN (splitsv);
  SvREFCNT_inc_simple_void_NN (jsonsv);
  SvREFCNT_inc_simple_void_NN ((SV *)dec);
  SvREFCNT_inc_simple_void_NN ((SV *)rl.call);
  args[0] = client;
  args[1] = worker;

  while (!((dead = AEF_XS_FIELD (w, "dead")) && SvTRUE (dead)))
    {
      const uint8_t *m;
      size_t len;
      int r = aef_task_split_next (s, &m, &len);
      SV *reply = NULL, *h = NULL;
      AV *handlers;

      if (r == 0)
        break;
      if (r > 0)
        reply = aef_xs_task_decode__ (aTHX_ rl.json, rl.dec, m, len);
      handlers = aef_xs_task_av__ (AEF_XS_FIELD (w, "handlers"));
      if (reply && handlers && AvFILL (handlers) >= 0)
        h = av_shift (handlers);
      if (!h || !SvOK (h))
        {
          SvREFCNT_dec (h);
          SvREFCNT_dec (reply);
          if (aef_xs_task_call_void__ (aTHX_ "AnyEvent::Task::Client::_conn_error", args, 2) && !err)
            err = newSVsv (ERRSV);
          break;
        }
      {
        ENTER;
        SAVETMPS;
        sv_2mortal (h);
        sv_2mortal (reply);
        if (aef_xs_task_reply__ (aTHX_ &rl, h, reply) && !err)
          err = newSVsv (ERRSV);
        FREETMPS;
        LEAVE;
      }
    }

  SvREFCNT_dec ((SV *)rl.call);
  SvREFCNT_dec ((SV *)dec);
  SvREFCNT_dec (jsonsv);
  SvREFCNT_dec (splitsv);
  SvREFCNT_dec ((SV *)w);
  return err;
}

SV *
aef_xs_task_deref (pTHX_ SV *checkout)
{
  HV *co = aef_xs_task_hv__ (checkout);
  SV *code = co ? AEF_XS_FIELD (co, "code") : NULL;

  if (code && SvROK (code))
    return sv_2mortal (newSVsv (code));
  code = aef_xs_task_call_scalar__ (aTHX_ (SV *)get_cvs ("AnyEvent::Task::Client::Checkout::_make_code", GV_ADD), NULL, &checkout, 1);
  if (!code)
    aef_xs_rethrow (aTHX);
  return sv_2mortal (code);
}

void
aef_xs_task_on_read (pTHX_ SV *client, SV *worker)
{
  HV *w = aef_xs_task_hv__ (worker);
  SV *splitsv = w ? AEF_XS_FIELD (w, "split") : NULL, *err = NULL, *sv, *args[2];
  aef_task_split *s;
  int fd;
  long n;

  if (!splitsv)
    croak ("AnyEvent::Task::Client::_on_read: not a worker");
  s = aef_xs_task_split_get (aTHX_ splitsv);
  if ((fd = aef_xs_task_fd__ (aTHX_ w)) < 0)
    return;
  n = aef_xs_task_split_fill (aTHX_ s, fd);
  if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
    return;
  args[0] = client;
  args[1] = worker;
  if (n <= 0)
    {
      if (aef_xs_task_call_void__ (aTHX_ "AnyEvent::Task::Client::_conn_error", args, 2))
        aef_xs_rethrow (aTHX);
      return;
    }

  sv_2mortal (SvREFCNT_inc_simple_NN ((SV *)w));
  ENTER;
  sv_setsv (save_scalar (gv_fetchpvs ("AnyEvent::Task::Client::READING", GV_ADD, SVt_PV)), worker);
  err = aef_xs_task_replies (aTHX_ client, worker);
  LEAVE;
  if (err)
    sv_2mortal (err);

  /* what the handlers wrote behind unanswered requests goes out now */
  if (!((sv = AEF_XS_FIELD (w, "dead")) && SvTRUE (sv)) && !((sv = AEF_XS_FIELD (w, "ww")) && SvTRUE (sv))
      && (sv = AEF_XS_FIELD (w, "wbuf")) && SvOK (sv) && SvCUR (sv) > 0
      && aef_xs_task_flush__ (aTHX_ w) && !err)
    err = sv_2mortal (newSVsv (ERRSV));
  if (err)
    croak_sv (err);
}
