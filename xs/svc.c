/* Services glue (code): see xs/svc.h. */
#include "util.h"
#include "svc.h"

#include <errno.h>
#include <string.h>
#if defined(__linux__)
# include <sys/prctl.h>
#endif

static int
aef_xs_svc_loop_free__ (pTHX_ SV *sv, MAGIC *mg)
{
  aef_svc_loop *l = (aef_svc_loop *)mg->mg_ptr;

  mg->mg_ptr = NULL;
  aef_svc_loop_free (l);
  return 0;
}

static MGVTBL aef_xs_svc_loop_vtbl = { 0, 0, 0, 0, aef_xs_svc_loop_free__, 0, 0, 0 };

aef_svc_loop *
aef_xs_svc_loop_get (pTHX_ SV *sv)
{
  aef_svc_loop *l = (aef_svc_loop *)aef_xs_obj_ptr (aTHX_ sv, &aef_xs_svc_loop_vtbl);

  if (!l)
    croak ("IPC::Manager::Core::Loop: not a loop object");
  return l;
}

SV *
aef_xs_svc_loop_new (pTHX_ SV *klass)
{
  HV *stash = gv_stashsv (klass, GV_ADD);
  aef_svc_loop *l = NULL;
  int r = aef_svc_loop_new (&l);

  if (r)
    croak ("IPC::Manager::Core::Loop: cannot create an event base: %s", strerror (-r));
  return aef_xs_obj_new (aTHX_ stash, &aef_xs_svc_loop_vtbl, l);
}

/* the descriptors (or pids, signals) of an array; croaks before anything
 * is allocated on a bad element */
static void
aef_xs_svc_ints__ (pTHX_ AV *av, int is_fd)
{
  SSize_t i, n = av ? av_len (av) + 1 : 0;

  for (i = 0; i < n; i++)
    {
      SV **svp = av_fetch (av, i, 0);

      if (!svp)
        croak ("IPC::Manager::Core::Loop: hole in an argument array");
      if (is_fd)
        aef_xs_fd (aTHX_ *svp, "IPC::Manager::Core::Loop: descriptor");
      else if (!looks_like_number (*svp))
        croak ("IPC::Manager::Core::Loop: not a number: %s", SvPV_nolen (*svp));
    }
}

/* whether any of n flags is set */
static int
aef_xs_svc_any__ (const int *v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (v[i])
      return 1;
  return 0;
}

/* a new empty array (hash with is_hash) stored in res under key, or NULL
 * (nothing stored) with skip */
static SV *
aef_xs_svc_part__ (pTHX_ HV *res, const char *key, int is_hash, int skip)
{
  SV *sv;

  if (skip)
    return NULL;
  sv = is_hash ? (SV *)newHV () : (SV *)newAV ();
  (void)hv_store (res, key, (I32)strlen (key), newRV_noinc (sv), 0);
  return sv;
}

SV *
aef_xs_svc_wait (pTHX_ aef_svc_loop *loop, AV *rfds, AV *wfds, AV *sigs,
                 AV *watch, int reap, NV timeout, int sparse)
{
  aef_svc_wait w;
  size_t nr = rfds ? (size_t)(av_len (rfds) + 1) : 0;
  size_t nw = wfds ? (size_t)(av_len (wfds) + 1) : 0;
  size_t ns = sigs ? (size_t)(av_len (sigs) + 1) : 0;
  size_t np = watch ? (size_t)(av_len (watch) + 1) : 0;
  size_t i;
  int *ints;
  pid_t *pids;
  unsigned *counts;
  aef_svc_reaped reaped[64];
  HV *res, *hs, *hr;
  AV *ar, *aw, *ag;
  int r;

  aef_xs_svc_ints__ (aTHX_ rfds, 1);
  aef_xs_svc_ints__ (aTHX_ wfds, 1);
  aef_xs_svc_ints__ (aTHX_ sigs, 0);
  aef_xs_svc_ints__ (aTHX_ watch, 0);

  /* one block, freed by SAVEFREEPV even if a croak below unwinds */
  Newxz (ints, 2 * (nr + nw) + ns + np + 1, int);
  SAVEFREEPV (ints);
  Newxz (pids, np + 1, pid_t);
  SAVEFREEPV (pids);
  Newxz (counts, ns + 1, unsigned);
  SAVEFREEPV (counts);

  memset (&w, 0, sizeof w);
  w.rfds = ints;            w.nr = nr; w.rready = ints + nr;
  w.wfds = ints + 2 * nr;   w.nw = nw; w.wready = ints + 2 * nr + nw;
  w.sigs = ints + 2 * (nr + nw); w.nsig = ns; w.sigcount = counts;
  w.watch = pids; w.nwatch = np; w.gone = ints + 2 * (nr + nw) + ns;
  w.reap = reap; w.reaped = reaped; w.reaped_cap = sizeof reaped / sizeof *reaped;

  for (i = 0; i < nr; i++) ints[i] = aef_xs_fd (aTHX_ *av_fetch (rfds, i, 0), "descriptor");
  for (i = 0; i < nw; i++) ints[2 * nr + i] = aef_xs_fd (aTHX_ *av_fetch (wfds, i, 0), "descriptor");
  for (i = 0; i < ns; i++) ints[2 * (nr + nw) + i] = (int)SvIV (*av_fetch (sigs, i, 0));
  for (i = 0; i < np; i++) pids[i] = (pid_t)SvIV (*av_fetch (watch, i, 0));

  /* a signal perl has already caught, but not yet dispatched, would sit
   * unhandled while we wait: do not wait then */
  if (PL_sig_pending || timeout < 0)
    w.timeout_ms = PL_sig_pending ? 0 : -1;
  else
    w.timeout_ms = (long)(timeout * 1000.0 + 0.5);

  r = aef_svc_loop_wait (loop, &w);
  if (r < 0)
    {
      errno = -r;
      croak ("IPC::Manager::Core::Loop: wait failed: %s", strerror (-r));
    }

  for (i = 0; i < ns && !counts[i]; i++)
    ;
  res = newHV ();
  hs = (HV *)aef_xs_svc_part__ (aTHX_ res, "sigs", 1, sparse && i == ns);
  ar = (AV *)aef_xs_svc_part__ (aTHX_ res, "r", 0, sparse && !aef_xs_svc_any__ (w.rready, nr));
  aw = (AV *)aef_xs_svc_part__ (aTHX_ res, "w", 0, sparse && !aef_xs_svc_any__ (w.wready, nw));
  ag = (AV *)aef_xs_svc_part__ (aTHX_ res, "gone", 0, sparse && !aef_xs_svc_any__ (w.gone, np));
  hr = (HV *)aef_xs_svc_part__ (aTHX_ res, "reaped", 1, sparse && !w.nreaped);
  for (i = 0; i < nr; i++)
    if (w.rready[i])
      av_push (ar, newSVsv (*av_fetch (rfds, i, 0)));
  for (i = 0; i < nw; i++)
    if (w.wready[i])
      av_push (aw, newSVsv (*av_fetch (wfds, i, 0)));
  for (i = 0; i < np; i++)
    if (w.gone[i])
      av_push (ag, newSViv (pids[i]));
  for (i = 0; i < ns; i++)
    if (counts[i])
      {
        char key[32];
        int kl = snprintf (key, sizeof key, "%d", w.sigs[i]);
        (void)hv_store (hs, key, kl, newSVuv (counts[i]), 0);
      }
  for (i = 0; i < w.nreaped; i++)
    {
      char key[32];
      int kl = snprintf (key, sizeof key, "%ld", (long)reaped[i].pid);
      (void)hv_store (hr, key, kl, newSViv (reaped[i].status), 0);
    }
  return newRV_noinc ((SV *)res);
}

SV *
aef_xs_svc_dgram_recv (pTHX_ int fd)
{
  aef_buf b;
  SV *out;
  int r;

  aef_buf_init (&b, AEF_SVC_DGRAM_MAX);
  r = aef_svc_dgram_recv (fd, &b);
  if (r)
    {
      aef_buf_free (&b);
      errno = -r;
      return &PL_sv_undef;
    }
  out = newSVpvn (aef_buf_size (&b) ? (const char *)aef_buf_ptr (&b) : "", aef_buf_size (&b));
  aef_buf_free (&b);
  return out;
}

void
aef_xs_svc_dgram_recv_all (pTHX_ int fd, AV *out)
{
  aef_buf b;
  int r;

  aef_buf_init (&b, AEF_SVC_DGRAM_MAX);
  for (;;)
    {
      /* after the first, a batch ends when the kernel reports nothing
       * queued (an empty datagram waits for the next batch) */
      r = av_len (out) < 0 ? aef_svc_dgram_recv (fd, &b) : aef_svc_dgram_recv_more (fd, &b);
      if (r == -EINTR)
        continue;
      if (r == -EMSGSIZE)
        av_push (out, newSV (0));
      else if (r)
        break;
      else
        av_push (out, newSVpvn (aef_buf_size (&b) ? (const char *)aef_buf_ptr (&b) : "", aef_buf_size (&b)));
    }
  aef_buf_free (&b);
}

typedef struct aef_xs_svc_take__ {
#ifdef PERL_IMPLICIT_CONTEXT
  PerlInterpreter *my_perl;
#endif
  AV *out;
  AV *spares;
  size_t sl;
} aef_xs_svc_take__;

/* only pushes new SVs: nothing here can croak into the C core's frames */
static void
aef_xs_svc_take_cb__ (void *arg, const char *name, const uint8_t *data, size_t len, int spared)
{
  aef_xs_svc_take__ *t = arg;
  size_t l = strlen (name);
#ifdef PERL_IMPLICIT_CONTEXT
  dTHXa (t->my_perl);
#endif

  av_push (t->out, newSVpvn (name, l));
  av_push (t->out, newSVpvn ((const char *)data, len));
  if (spared)
    av_push (t->spares, newSVpvn (name, l - t->sl));
}

/* The spares' held descriptors (aef_svc_held) live in ext magic on the
 * array of spare names: they close when it is freed (a client that
 * disconnects or reconnects drops its array). */
static int
aef_xs_svc_held_free__ (pTHX_ SV *sv, MAGIC *mg)
{
  aef_svc_held *h = (aef_svc_held *)mg->mg_ptr;

  mg->mg_ptr = NULL;
  if (h)
    {
      aef_svc_held_clear (h);
      Safefree (h);
    }
  return 0;
}

static MGVTBL aef_xs_svc_held_vtbl = { 0, 0, 0, 0, aef_xs_svc_held_free__, 0, 0, 0 };

/* the held descriptors of spares (made when make is set), or NULL */
static aef_svc_held *
aef_xs_svc_held__ (pTHX_ AV *spares, int make)
{
  MAGIC *mg = aef_xs_magic (aTHX_ (SV *)spares, &aef_xs_svc_held_vtbl);
  aef_svc_held *h;

  if (mg || !make)
    return mg ? (aef_svc_held *)mg->mg_ptr : NULL;
  Newx (h, 1, aef_svc_held);
  aef_svc_held_init (h);
  sv_magicext ((SV *)spares, NULL, PERL_MAGIC_ext, &aef_xs_svc_held_vtbl, (const char *)h, 0);
  return h;
}

int
aef_xs_svc_files_take (pTHX_ int wfd, int announced, const char *dir, const char *suffix,
                       const char *spare_dir, AV *spares, IV max, AV *out)
{
  aef_xs_svc_take__ t;
  IV have = spares ? av_len (spares) + 1 : 0;
  const char *sdir = spares ? spare_dir : NULL;
  size_t room = spares && max > have ? (size_t)(max - have) : 0;
  aef_svc_held *held = sdir && room ? aef_xs_svc_held__ (aTHX_ spares, 1) : NULL;

#ifdef PERL_IMPLICIT_CONTEXT
  t.my_perl = aTHX;
#endif
  t.out = out;
  t.spares = spares;
  t.sl = strlen (suffix);
  if (wfd >= 0 && announced)
    return aef_svc_files_take_announced (wfd, dir, suffix, sdir, room, held, aef_xs_svc_take_cb__, &t);
  if (wfd >= 0)
    return aef_svc_files_take_watched (wfd, dir, suffix, sdir, room, held, aef_xs_svc_take_cb__, &t);
  return aef_svc_files_take (dir, suffix, sdir, room, held, aef_xs_svc_take_cb__, &t);
}

int
aef_xs_svc_file_put (pTHX_ const char *dir, const char *name, SV *data, const char *spare_dir,
                     AV *spares, int *step)
{
  STRLEN len;
  const char *p = SvPVbyte (data, len);
  SV *spare = spares && spare_dir && av_len (spares) >= 0 ? sv_2mortal (av_pop (spares)) : NULL;

  return aef_svc_file_put (dir, name, p, len, spare_dir, spare ? SvPV_nolen (spare) : NULL,
                           spare ? aef_xs_svc_held__ (aTHX_ spares, 0) : NULL, step);
}

AV *
aef_xs_svc_frames (pTHX_ SV *buf, int decode, int *too_large)
{
  STRLEN len;
  const uint8_t *p;
  size_t used = 0, plen;
  AV *out;
  int r;

  if (SvREADONLY (buf))
    croak ("IPC::Manager::Core::frames: read-only buffer");
  p = (const uint8_t *)SvPVbyte (buf, len);
  out = (AV *)sv_2mortal ((SV *)newAV ());
  while ((r = aef_svc_frame_next (p + used, len - used, AEF_SVC_FRAME_MAX, &plen)) == 1)
    {
      const char *f = (const char *)p + used + 4;
      SV *m = decode ? aef_xs_svc_msg_decode (aTHX_ f, plen) : NULL;

      av_push (out, m ? m : newSVpvn (f, plen));
      used += 4 + plen;
    }
  if (used)
    sv_chop (buf, SvPVX (buf) + used);
  *too_large = r < 0;
  return out;
}

SV *
aef_xs_svc_frame (pTHX_ SV *payload)
{
  STRLEN len;
  const char *p = SvPVbyte (payload, len);
  aef_buf b;
  SV *out;
  int r;

  aef_buf_init (&b, (size_t)AEF_SVC_FRAME_MAX + 4);
  r = aef_svc_frame_put (&b, p, len);
  if (r)
    {
      aef_buf_free (&b);
      croak ("frame too large");
    }
  out = newSVpvn ((const char *)aef_buf_ptr (&b), aef_buf_size (&b));
  aef_buf_free (&b);
  return out;
}

/* the stamps of the messages this process makes (see aef_svc_stamp) */
static aef_svc_stamp aef_xs_svc_stamp__;

void
aef_xs_svc_stamp (pTHX_ NV *sec_out, UV *ord_out)
{
  int r = aef_svc_stamp_now (&aef_xs_svc_stamp__);

  if (r)
    croak ("IPC::Manager::Core::stamp: no time: %s", strerror (-r));
  *sec_out = (NV)aef_xs_svc_stamp__.sec + (NV)aef_xs_svc_stamp__.usec / 1e6;
  *ord_out = (UV)aef_xs_svc_stamp__.ord;
}

static int aef_xs_json_simple__ (pTHX_ SV *out, SV *v, int depth);

SV *
aef_xs_svc_msg_put (pTHX_ SV *buf, int framed, SV *from, SV *to, SV *content, int data, SV *rid)
{
  STRLEN fl, tl, cl = 0, cur;
  const char *f = SvPVbyte (from, fl), *t = SvPVbyte (to, tl), *c = data ? NULL : SvPVbyte (content, cl);
  size_t hdr = framed ? 4 : 0, n;
  char id[37], *p;
  long l;
  int r;

  if (SvREADONLY (buf))
    croak ("IPC::Manager::Core::msg_put: read-only buffer");
  if (framed && (fl > AEF_SVC_FRAME_MAX || tl > AEF_SVC_FRAME_MAX || cl > AEF_SVC_FRAME_MAX))
    croak ("frame too large");
  if (!SvOK (buf))
    sv_setpvn (buf, "", 0);
  if (SvUTF8 (buf))
    sv_utf8_downgrade (buf, 0);
  (void)SvPV_force (buf, cur);
  /* (below, a failure leaves buf as it was: its length set back) */
  p = SvGROW (buf, cur + hdr + fl + tl + AEF_SVC_MSG_HEAD + cl + AEF_SVC_MSG_TAIL + 1);
  l = aef_svc_msg_head (p + cur + hdr, fl + tl + AEF_SVC_MSG_HEAD, f, fl, t, tl);
  SvCUR_set (buf, cur + hdr + (size_t)l);
  if (data == 2 || data == 3)
    {
      /* (a request's content, {ipcm_request_id => rid, request => content},
       * or a response's, {ipcm_response_id => rid, response => content},
       * written without the hash) */
      if (data == 2)
        sv_catpvs (buf, "{\"ipcm_request_id\":");
      else
        sv_catpvs (buf, "{\"ipcm_response_id\":");
      if (!aef_xs_json_simple__ (aTHX_ buf, rid, 1))
        {
          SvCUR_set (buf, cur);
          return NULL;
        }
      if (data == 2)
        sv_catpvs (buf, ",\"request\":");
      else
        sv_catpvs (buf, ",\"response\":");
      if (!aef_xs_json_simple__ (aTHX_ buf, content, 1))
        {
          SvCUR_set (buf, cur);
          return NULL;
        }
      sv_catpvs (buf, "}");
    }
  else if (data)
    {
      if (!aef_xs_json_simple__ (aTHX_ buf, content, 0))
        {
          SvCUR_set (buf, cur);
          return NULL;
        }
    }
  else
    {
      memcpy (SvPVX (buf) + SvCUR (buf), c, cl);
      SvCUR_set (buf, SvCUR (buf) + cl);
    }
  if ((r = aef_svc_uuid (id)))
    {
      SvCUR_set (buf, cur);
      croak ("IPC::Manager::Core::uuid: no random bytes: %s", strerror (-r));
    }
  if ((r = aef_svc_stamp_now (&aef_xs_svc_stamp__)))
    {
      SvCUR_set (buf, cur);
      croak ("IPC::Manager::Core::stamp: no time: %s", strerror (-r));
    }
  p = SvGROW (buf, SvCUR (buf) + AEF_SVC_MSG_TAIL + 1);
  l = aef_svc_msg_tail (p + SvCUR (buf), AEF_SVC_MSG_TAIL, &aef_xs_svc_stamp__, id);
  n = SvCUR (buf) + (size_t)l - cur - hdr;
  if (framed && n > AEF_SVC_FRAME_MAX)
    {
      SvCUR_set (buf, cur);
      croak ("frame too large");
    }
  SvCUR_set (buf, cur + hdr + n);
  *SvEND (buf) = 0;
  if (framed)
    {
      p += cur;
      p[0] = (char)(n >> 24);
      p[1] = (char)(n >> 16);
      p[2] = (char)(n >> 8);
      p[3] = (char)n;
    }
  SvSETMAGIC (buf);
  return newSVpvn (id, 36);
}

/* appends the JSON string of the len bytes at s to out: 0 unless ASCII */
static int
aef_xs_json_str__ (pTHX_ SV *out, const char *s, STRLEN len)
{
  STRLEN cur = SvCUR (out);
  /* (room for the worst case, unless that is much: then the exact size) */
  long n = len <= 256 ? (long)(6 * len + 2) : aef_svc_json_str_size (s, len);

  if (n < 0)
    return 0;
  n = aef_svc_json_str (SvGROW (out, cur + (STRLEN)n + 1) + cur, s, len);
  if (n < 0)
    return 0;
  SvCUR_set (out, cur + (STRLEN)n);
  return 1;
}

/* appends v's JSON text to out: 0 when v is not simple data (out then
 * holds a partial text) */
static int
aef_xs_json_simple__ (pTHX_ SV *out, SV *v, int depth)
{
  SV *rv;

  if (SvGMAGICAL (v))
    return 0;
  if (!SvROK (v))
    {
      U32 f = SvFLAGS (v) & (SVf_POK | SVf_IOK | SVf_NOK);

      if (!SvOK (v))
        {
          sv_catpvn (out, "null", 4);
          return 1;
        }
      if (f == SVf_POK)
        return aef_xs_json_str__ (aTHX_ out, SvPVX (v), SvCUR (v));
      if (f == SVf_IOK)
        {
          if (SvIsUV (v))
            sv_catpvf (out, "%" UVuf, SvUVX (v));
          else
            sv_catpvf (out, "%" IVdf, SvIVX (v));
          return 1;
        }
      return 0;
    }
  rv = SvRV (v);
  if (depth >= AEF_XS_JSON_DEPTH || SvOBJECT (rv) || SvRMAGICAL (rv))
    return 0;
  if (SvTYPE (rv) == SVt_PVHV)
    {
      HV *hv = (HV *)rv;
      HE *he;
      int first = 1;

      sv_catpvn (out, "{", 1);
      hv_iterinit (hv);
      while ((he = hv_iternext (hv)))
        {
          if (HeKLEN (he) == HEf_SVKEY)
            return 0;
          if (!first)
            sv_catpvn (out, ",", 1);
          first = 0;
          if (!aef_xs_json_str__ (aTHX_ out, HeKEY (he), (STRLEN)HeKLEN (he)))
            return 0;
          sv_catpvn (out, ":", 1);
          if (!aef_xs_json_simple__ (aTHX_ out, HeVAL (he), depth + 1))
            return 0;
        }
      sv_catpvn (out, "}", 1);
      return 1;
    }
  if (SvTYPE (rv) == SVt_PVAV)
    {
      AV *av = (AV *)rv;
      I32 i, n = av_len (av) + 1;

      sv_catpvn (out, "[", 1);
      for (i = 0; i < n; i++)
        {
          SV **e = av_fetch (av, i, 0);

          if (i)
            sv_catpvn (out, ",", 1);
          if (!aef_xs_json_simple__ (aTHX_ out, e ? *e : &PL_sv_undef, depth + 1))
            return 0;
        }
      sv_catpvn (out, "]", 1);
      return 1;
    }
  return 0;
}

int
aef_xs_svc_kind (pTHX_ const char *func, const char *kind)
{
  int k = !strcmp (kind, "dgram") ? AEF_SVC_ENTRY_DGRAM
        : !strcmp (kind, "stream") ? AEF_SVC_ENTRY_STREAM
        : !strcmp (kind, "dir") ? AEF_SVC_ENTRY_DIR : 0;

  if (!k)
    croak ("%s: unknown kind '%s'", func, kind);
  return k;
}

/* the descriptors of drop into fds[*n...] (at most max in all) */
static void
aef_xs_svc_fork_fds__ (pTHX_ AV *drop, int *fds, int *n, int max)
{
  SSize_t i, len = drop ? av_len (drop) + 1 : 0;

  for (i = 0; i < len; i++)
    {
      SV **svp = av_fetch (drop, i, 0);

      if (*n >= max)
        croak ("IPC::Manager::Core::fork_service: more than %d descriptors to release", max);
      fds[(*n)++] = aef_xs_fd (aTHX_ svp ? *svp : &PL_sv_undef, "descriptor");
    }
}

#if defined(__linux__) && defined(PR_SET_NAME)
/* bound when the object is loaded: a first call through the procedure
   linkage table would have the dynamic linker look the name up in the
   child, after the fork (a dozen page faults) */
static int (*volatile aef_xs_svc_prctl__) (int, ...) = prctl;

/* the name other processes see (the argument area, as perl's $0 magic
   writes it on Linux, and the kernel's process name), set before the
   child registers; perl's own assignment to $0 follows */
static void
aef_xs_svc_name__ (pTHX_ const char *s, STRLEN len)
{
  int i;

  if (PL_origalen <= 1)
    return;
  if (len >= (STRLEN)PL_origalen - 1)
    memcpy (PL_origargv[0], s, PL_origalen - 1);
  else
    {
      memcpy (PL_origargv[0], s, len);
      PL_origargv[0][len] = 0;
      memset (PL_origargv[0] + len + 1, ' ', PL_origalen - len - 1);
    }
  PL_origargv[0][PL_origalen - 1] = 0;
  for (i = 1; i < PL_origargc; i++)
    PL_origargv[i] = 0;
  aef_xs_svc_prctl__ (PR_SET_NAME, (unsigned long)s, 0UL, 0UL, 0UL);
}
#endif

pid_t
aef_xs_svc_fork (pTHX_ SV *reg, AV *child_drop, AV *parent_drop, int *watch)
{
  int fds[AEF_XS_SVC_FORK_FDS], nchild = 0, n = 0, kind = 0, fd = -1, want = 0, i, r;
  const char *path = NULL;
  SV *name = NULL, *zero = NULL;
  const char *zs = NULL;
  STRLEN zlen = 0;
  pid_t pid;

  if (SvOK (reg))
    {
      AV *a = SvROK (reg) && SvTYPE (SvRV (reg)) == SVt_PVAV ? (AV *)SvRV (reg) : NULL;
      SV *e[5];

      if (!a || av_len (a) < 4)
        croak ("IPC::Manager::Core::fork_service: the registration is not [kind, path, socket, want_watch, name]");
      for (i = 0; i < 5; i++)
        {
          SV **svp = av_fetch (a, i, 0);

          e[i] = svp ? *svp : &PL_sv_undef;
        }
      kind = aef_xs_svc_kind (aTHX_ "IPC::Manager::Core::fork_service", SvPV_nolen (e[0]));
      path = SvPV_nolen (e[1]);
      if (kind != AEF_SVC_ENTRY_DIR)
        fd = aef_xs_fd (aTHX_ e[2], "socket");
      want = SvTRUE (e[3]);
      name = e[4];
      zs = SvPV (name, zlen);
      zero = get_sv ("0", GV_ADD);
    }
  aef_xs_svc_fork_fds__ (aTHX_ child_drop, fds, &n, AEF_XS_SVC_FORK_FDS);
  nchild = n;
  aef_xs_svc_fork_fds__ (aTHX_ parent_drop, fds, &n, AEF_XS_SVC_FORK_FDS);

  *watch = -1;
  pid = aef_xs_fork (aTHX_ 1);
  if (pid < 0)
    return pid;
  if (pid == 0 && kind)
    {
      /* named and registered before any Perl runs in the child: each
         page first written to after the fork is a copy-on-write fault */
#if defined(__linux__) && defined(PR_SET_NAME)
      aef_xs_svc_name__ (aTHX_ zs, zlen);
#else
      sv_setsv_mg (zero, name);
#endif
      r = aef_svc_register (kind, path, fd, (long)getpid (), want ? watch : NULL);
      if (r)
        {
          *watch = -2;
          errno = -r;
        }
    }
  {
    int err = errno;

    for (i = pid ? nchild : 0; i < (pid ? n : nchild); i++)
      aef_svc_fd_release (fds[i]);
#if defined(__linux__) && defined(PR_SET_NAME)
    if (pid == 0 && kind)
      sv_setsv_mg (zero, name);
#endif
    errno = err;
  }
  return pid;
}

/* whether freeing sv (reached through a reference) may run Perl code or
 * let go of something a program can see; *budget counts the nodes left */
static int
aef_xs_svc_quiet__ (pTHX_ SV *sv, IV *budget, int depth, int root)
{
  SSize_t i, n;

  if (!sv || sv == &PL_sv_undef || sv == &PL_sv_yes || sv == &PL_sv_no)
    return 1;
  if (--*budget < 0 || depth > 64)
    return 0;
  /* a glob of a symbol table stays (whatever magic it carries); one of
     its own (a lexical file handle's) is closed when the last reference
     goes */
  if (SvTYPE (sv) == SVt_PVGV)
    {
      GV *gv = (GV *)sv;
      HV *stash = isGV_with_GP (gv) ? GvSTASH (gv) : NULL;
      I32 len = GvNAMELEN (gv);
      SV **found;

#ifdef GvNAMEUTF8
      if (GvNAMEUTF8 (gv))
        len = -len;
#endif
      found = stash ? hv_fetch (stash, GvNAME (gv), len, 0) : NULL;

      return found && *found == sv;
    }
  /* a destructor, a tie, weak references to it, ... */
  if (SvMAGICAL (sv) || (SvOBJECT (sv) && !root))
    return 0;
  switch (SvTYPE (sv))
    {
    case SVt_PVAV:
      n = AvFILLp ((AV *)sv) + 1;
      for (i = 0; i < n; i++)
        if (!aef_xs_svc_quiet__ (aTHX_ AvARRAY ((AV *)sv)[i], budget, depth + 1, 0))
          return 0;
      return 1;
    case SVt_PVHV:
      {
        HV *hv = (HV *)sv;
        HE *he;
        STRLEN b;

#if PERL_REVISION == 5 && PERL_VERSION >= 10
# ifdef HvHasAUX
        if (HvHasAUX (hv) && HvAUX (hv)->xhv_backreferences)
          return 0;
# else
        if (SvOOK (hv) && HvAUX (hv)->xhv_backreferences)
          return 0;
# endif
#endif
        /* (walked bucket by bucket: the hash's iterator is left alone) */
        if (!HvARRAY (hv))
          return 1;
        for (b = 0; b <= HvMAX (hv); b++)
          for (he = HvARRAY (hv)[b]; he; he = HeNEXT (he))
            if (!aef_xs_svc_quiet__ (aTHX_ HeVAL (he), budget, depth + 1, 0))
              return 0;
        return 1;
      }
    case SVt_PVCV:
      /* a named sub or the shared body of an anonymous one outlives this
         reference; a closure holds variables (perl 5.8 has no way to
         look at them that ppport.h provides): counted as holding
         something */
      return CvISXSUB ((CV *)sv) || (!CvCLONED ((CV *)sv) && SvREFCNT (sv) > 1);
    default:
      if (SvTYPE (sv) > SVt_PVMG)
        return 0;
      return SvROK (sv) ? aef_xs_svc_quiet__ (aTHX_ SvRV (sv), budget, depth + 1, 0) : 1;
    }
}

int
aef_xs_svc_free_is_quiet (pTHX_ SV *ref, IV budget)
{
  return SvROK (ref) && aef_xs_svc_quiet__ (aTHX_ SvRV (ref), &budget, 0, 1);
}

/* the fields of a message (see aef_xs_svc_msg_decode) as bits */
static unsigned
aef_xs_msg_field__ (const char *k, I32 l)
{
  switch (l)
    {
    case 2:
      return k[0] == 't' && k[1] == 'o' ? 1 : k[0] == 'i' && k[1] == 'd' ? 2 : 0;
    case 4:
      return memcmp (k, "from", 4) ? 0 : 4;
    case 5:
      return memcmp (k, "stamp", 5) ? 0 : 8;
    case 7:
      return memcmp (k, "content", 7) ? 0 : 16;
    case 9:
      return memcmp (k, "stamp_ord", 9) ? 0 : 32;
    }
  return 0;
}
#define AEF_XS_MSG_FIELDS 63u

/* the value of the tokens from toks[*i] on (of the text s), a new SV, and
 * *i past them; NULL (nothing left allocated) when a string's escapes
 * cannot be read, a key repeats, or a boolean is met without the coder's
 * booleans (see aef_xs_svc_json_decode). With fields, an object's members
 * that are fields of a message and not null set their bits in *fields. */
static SV *
aef_xs_json_value__ (pTHX_ const char *s, const aef_svc_jtok *toks, size_t *i, unsigned *fields)
{
  const aef_svc_jtok *t = &toks[(*i)++];
  SV *sv;

  switch (t->kind)
    {
    case AEF_SVC_JNULL:
      return newSV (0);
    case AEF_SVC_JTRUE:
    case AEF_SVC_JFALSE:
      sv = get_sv (t->kind == AEF_SVC_JTRUE ? "Cpanel::JSON::XS::true" : "Cpanel::JSON::XS::false", 0);
      return sv && SvROK (sv) && !SvMAGICAL (sv) ? newSVsv (sv) : NULL;
    case AEF_SVC_JINT:
      return newSViv ((IV)t->v.i);
    case AEF_SVC_JFLOAT:
      return newSVnv ((NV)t->v.d);
    case AEF_SVC_JSTR:
      if (!t->esc)
        return newSVpvn (s + t->off, t->len);
      {
        int wide;
        long n;

        sv = newSV (t->len + 1);
        n = aef_svc_json_unescape (SvPVX (sv), s + t->off, t->len, &wide);
        if (n < 0)
          {
            SvREFCNT_dec (sv);
            return NULL;
          }
        SvPVX (sv)[n] = 0;
        SvCUR_set (sv, (STRLEN)n);
        SvPOK_only (sv);
        if (wide)
          SvUTF8_on (sv);
        return sv;
      }
    case AEF_SVC_JARR:
      {
        AV *av = newAV ();
        uint32_t k;

        if (t->len)
          av_extend (av, t->len - 1);
        for (k = 0; k < t->len; k++)
          {
            SV *e = aef_xs_json_value__ (aTHX_ s, toks, i, NULL);

            if (!e)
              {
                SvREFCNT_dec ((SV *)av);
                return NULL;
              }
            av_push (av, e);
          }
        return newRV_noinc ((SV *)av);
      }
    case AEF_SVC_JOBJ:
      {
        HV *hv = newHV ();
        uint32_t k;

        /* (room for every member at once: a message would grow the table
         * once on the way) */
        if (t->len > 4)
          hv_ksplit (hv, t->len);
        for (k = 0; k < t->len; k++)
          {
            const aef_svc_jtok *key = &toks[(*i)++];
            const char *kp = s + key->off;
            I32 kl = (I32)key->len;
            char kbuf[256];
            SV *tmp = NULL, *v;

            if (key->esc)
              {
                int wide;
                long n;
                char *d = key->len < sizeof kbuf ? kbuf : SvPVX (tmp = sv_2mortal (newSV (key->len + 1)));

                n = aef_svc_json_unescape (d, kp, key->len, &wide);
                if (n < 0)
                  {
                    SvREFCNT_dec ((SV *)hv);
                    return NULL;
                  }
                kp = d;
                kl = wide ? -(I32)n : (I32)n;
              }
            if (fields && toks[*i].kind != AEF_SVC_JNULL)
              *fields |= aef_xs_msg_field__ (kp, kl);
            if (!(v = aef_xs_json_value__ (aTHX_ s, toks, i, NULL)))
              {
                SvREFCNT_dec ((SV *)hv);
                return NULL;
              }
            (void)hv_store (hv, kp, kl, v, 0);
          }
        /* (a repeated key replaced the earlier value: the coder decides) */
        if (HvUSEDKEYS (hv) != t->len)
          {
            SvREFCNT_dec ((SV *)hv);
            return NULL;
          }
        return newRV_noinc ((SV *)hv);
      }
    }
  return NULL;
}

/* the tokens of the text at s (see aef_svc_json_parse), into the cap
 * entries at stack or a new buffer (*heap, freed by the caller): their
 * count, or < 0 */
#define AEF_XS_JSON_TOKS 128
#define AEF_XS_JSON_HEAP_MAX 65536

static long
aef_xs_json_tokens__ (const char *s, size_t len, aef_svc_jtok *stack, aef_svc_jtok **heap)
{
  long n = aef_svc_json_parse (s, len, stack, AEF_XS_JSON_TOKS);

  *heap = NULL;
  if (n != -ENOSPC || len > AEF_XS_JSON_HEAP_MAX)
    return n;
  /* (every token but the last takes two bytes at least) */
  Newx (*heap, len / 2 + 2, aef_svc_jtok);
  return aef_svc_json_parse (s, len, *heap, len / 2 + 2);
}

/* aef_xs_svc_json_decode, with fields as aef_xs_json_value__'s */
static SV *
aef_xs_json_decode__ (pTHX_ const char *s, size_t len, unsigned *fields)
{
  aef_svc_jtok stack[AEF_XS_JSON_TOKS], *heap;
  long n = aef_xs_json_tokens__ (s, len, stack, &heap);
  size_t i = 0;
  SV *v = n > 0 ? aef_xs_json_value__ (aTHX_ s, heap ? heap : stack, &i, fields) : NULL;

  Safefree (heap);
  return v;
}

SV *
aef_xs_svc_json_decode (pTHX_ const char *s, size_t len)
{
  return aef_xs_json_decode__ (aTHX_ s, len, NULL);
}

SV *
aef_xs_svc_msg_decode (pTHX_ const char *s, size_t len)
{
  unsigned fields = 0;
  SV *v = aef_xs_json_decode__ (aTHX_ s, len, &fields);

  /* (a message is an object: only then are fields set) */
  if (v && fields == AEF_XS_MSG_FIELDS)
    return sv_bless (v, gv_stashpvs ("IPC::Manager::Message", GV_ADD));
  SvREFCNT_dec (v);
  return NULL;
}

/* a plain number's value: 0 when sv is not one (magic, a reference, not
 * a number, NaN, an integer an NV does not hold exactly) */
static int
aef_xs_plain_nv__ (pTHX_ SV *sv, NV *out)
{
  if (SvGMAGICAL (sv) || SvROK (sv) || !(SvFLAGS (sv) & (SVf_IOK | SVf_NOK)))
    return 0;
  if (SvNOK (sv))
    *out = SvNVX (sv);
  else if (SvIsUV (sv) ? SvUVX (sv) > ((UV)1 << 53) : (SvIVX (sv) > ((IV)1 << 53) || SvIVX (sv) < -((IV)1 << 53)))
    return 0;
  else
    *out = SvIsUV (sv) ? (NV)SvUVX (sv) : (NV)SvIVX (sv);
  return !Perl_isnan (*out);
}

/* a message's stamp and stamp_ord (undefined: 0) as plain numbers, or 0 */
static int
aef_xs_msg_stamp__ (pTHX_ SV *m, NV *stamp, NV *ord)
{
  HV *hv;
  SV **e;

  if (!SvROK (m) || SvTYPE (SvRV (m)) != SVt_PVHV || SvRMAGICAL (SvRV (m)))
    return 0;
  hv = (HV *)SvRV (m);
  e = hv_fetchs (hv, "stamp", 0);
  if (!e || !aef_xs_plain_nv__ (aTHX_ *e, stamp))
    return 0;
  e = hv_fetchs (hv, "stamp_ord", 0);
  if (!e || (!SvOK (*e) && !SvGMAGICAL (*e)))
    {
      *ord = 0;
      return 1;
    }
  return aef_xs_plain_nv__ (aTHX_ *e, ord);
}

int
aef_xs_svc_msgs_in_order (pTHX_ SV **msgs, SSize_t n)
{
  NV s0 = 0, o0 = 0, s1, o1;
  SSize_t i;

  for (i = 0; i < n; i++)
    {
      if (!aef_xs_msg_stamp__ (aTHX_ msgs[i], &s1, &o1))
        return 0;
      if (i && (s1 < s0 || (s1 == s0 && o1 < o0)))
        return 0;
      s0 = s1;
      o0 = o1;
    }
  return 1;
}
