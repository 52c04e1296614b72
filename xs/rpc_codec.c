/* rpc_codec.c - serialising for both sides of AnyEvent::Fork::RPC (see
 * rpc_codec.h). */
#include "util.h"
#include "rpc_codec.h"
#include "aef_rpc.h"

/* Can the string-list codec encode sv without running Perl code, exactly
 * as pack "w/a*" would? (plain octet strings, numbers, undef) */
static int
aef_xs_plain__ (pTHX_ SV *sv)
{
  if (SvGMAGICAL (sv) || SvROK (sv))
    return 0;
  if (SvPOK (sv))
    return !SvUTF8 (sv);
  return !SvOK (sv) || SvIOK (sv) || SvNOK (sv);
}

void
aef_xs_codec_init (pTHX_ aef_xs_codec *c, SV *text, SV *freeze, SV *thaw)
{
  STRLEN len;
  const char *s = SvOK (text) ? SvPV (text, len) : (len = 0, "");

  c->fast = len == sizeof AEF_XS_STRING_SERIALISER - 1
            && !memcmp (s, AEF_XS_STRING_SERIALISER, len);
  c->freeze = newSVsv (freeze);
  c->thaw = newSVsv (thaw);
  c->recycle = 0;
  c->big = NULL;
}

void
aef_xs_codec_free (pTHX_ aef_xs_codec *c)
{
  SvREFCNT_dec (c->freeze);
  SvREFCNT_dec (c->thaw);
  SvREFCNT_dec (c->big);
  c->freeze = c->thaw = c->big = NULL;
}

/* aef_rpc_split for the built-in serialiser: a payload that is one string
 * (a BER length, then exactly that many octets) splits after the length */
static size_t
aef_xs_split__ (void *ctx, const uint8_t *p, size_t avail, size_t len)
{
  const uint8_t *q = p;
  uint64_t n;

  PERL_UNUSED_ARG (ctx);
  if (aef_ber_get (&q, p + avail, &n) == 1 && n == len - (size_t)(q - p))
    return (size_t)(q - p);
  return AEF_RPC_SPLIT_NONE;
}

void
aef_xs_codec_split (const aef_xs_codec *c, aef_rpc_reader *r)
{
  if (c->fast)
    aef_rpc_reader_split (r, aef_xs_split__, NULL, AEF_RPC_HUGE);
}

/* Perl frees a string's buffer with the C library's free(): buffers from
 * malloc can become strings and strings' buffers can be reused */
#if !defined(MYMALLOC) && !defined(PERL_TRACK_MEMPOOL) && !defined(PERL_IMPLICIT_SYS)
# define AEF_XS_ADOPT 1
#endif

/* may sv's buffer be taken? (nothing else references sv or shares its
 * buffer) */
static int
aef_xs_unshared__ (pTHX_ SV *sv)
{
  if (SvREFCNT (sv) != 1 || SvTYPE (sv) != SVt_PV || SvMAGICAL (sv) || !SvPOK (sv)
      || SvOOK (sv) || SvLEN (sv) < AEF_RPC_HUGE)
    return 0;
#ifdef CowREFCNT
  if (SvFLAGS (sv) & SVf_IsCOW)
    return CowREFCNT (sv) == 0; /* the other sharers are gone */
#else
  if (SvFLAGS (sv) & (SVf_FAKE | SVf_READONLY))
    return 0; /* (older perls: a shared string) */
#endif
  return 1;
}

void
aef_xs_codec_reclaim (pTHX_ aef_xs_codec *c, aef_rpc_reader *r)
{
  SV *sv = c->big;

  c->big = NULL;
  if (!sv)
    return;
  if (aef_xs_unshared__ (aTHX_ sv))
    {
      aef_rpc_reader_give (r, SvPVX (sv), SvLEN (sv));
      SvPV_set (sv, NULL);
      SvLEN_set (sv, 0);
      SvCUR_set (sv, 0);
      SvPOK_off (sv);
#ifdef CowREFCNT
      SvFLAGS (sv) &= ~SVf_IsCOW;
#endif
    }
  SvREFCNT_dec (sv);
}

int
aef_xs_freeze (pTHX_ const aef_xs_codec *c, SV **args, I32 n, aef_xs_payload *pl)
{
  I32 i;

  pl->p = NULL;
  pl->args = args;
  pl->n = n;

  if (c->fast)
    {
      uint64_t size = 0;

      for (i = 0; i < n; i++)
        {
          STRLEN len = 0;

          if (!aef_xs_plain__ (aTHX_ args[i]))
            break;
          if (SvOK (args[i]))
            (void)SvPV_nomg (args[i], len); /* numbers get their string here */
          size += aef_ber_size (len) + len;
        }

      if (i == n)
        {
          pl->size = size > SIZE_MAX ? SIZE_MAX : (size_t)size;
          return 0;
        }
    }

  {
    dSP;
    SSize_t base = args - PL_stack_base; /* EXTEND may move the stack */
    I32 count;
    SV *res;

    PUSHMARK (SP);
    EXTEND (SP, n);
    for (i = 0; i < n; i++)
      PUSHs (PL_stack_base[base + i]);
    PUTBACK;

    count = call_sv (c->freeze, G_ARRAY | G_EVAL);

    SPAGAIN;
    res = count ? sv_mortalcopy (SP[1 - count]) : sv_newmortal ();
    SP -= count;
    PUTBACK;

    if (AEF_XS_DIED)
      return -1;

    if ((SvROK (res) && SvAMAGIC (res)) || !sv_utf8_downgrade (res, TRUE))
      {
        sv_setpvs (ERRSV, "AnyEvent::Fork::RPC: the serialiser did not return an octet string\n");
        return -1;
      }

    if (SvOK (res))
      pl->p = SvPV_nomg (res, pl->len);
    else
      pl->p = "", pl->len = 0;
    pl->size = pl->len;
    pl->args = NULL;
    return 0;
  }
}

void
aef_xs_payload_put (pTHX_ const aef_xs_payload *pl, aef_buf *b)
{
  I32 i;

  if (pl->p)
    {
      aef_buf_append (b, pl->p, pl->len);
      return;
    }

  for (i = 0; i < pl->n; i++)
    {
      STRLEN len = 0;
      const char *s = "";

      if (SvOK (pl->args[i]))
        s = SvPV_nomg (pl->args[i], len);
      aef_strlist_put (b, s, len);
    }
}

/* A new string SV with a copy of s. Large ones get a buffer of huge pages
 * (faulting in fresh small pages costs more than the copy), with room for
 * perl's copy-on-write count, so that copies of the value share it. Perl
 * frees string buffers with free() unless it has its own malloc or tracks
 * its allocations: then the buffer can also be aligned to a huge page. */
static SV *
aef_xs_newsv__ (pTHX_ const uint8_t *s, size_t n)
{
  SV *sv;
  char *p = NULL;

  if (n < AEF_RPC_HUGE)
    return newSVpvn ((const char *)s, n);

  sv = newSV_type (SVt_PV);
#if !defined(MYMALLOC) && !defined(PERL_TRACK_MEMPOOL)
  if (posix_memalign ((void **)&p, 2 * 1024 * 1024, n + 2))
    p = NULL;
#endif
  if (!p)
    Newx (p, n + 2, char);
  aef_rpc_advise (p, n + 2);
  memcpy (p, s, n);
  p[n] = 0;
  SvPV_set (sv, p);
  SvCUR_set (sv, n);
  SvLEN_set (sv, n + 2);
  SvPOK_only (sv);
  return sv;
}

/* The string of a frame read in two parts: the body's buffer becomes the
 * string's (or is copied, where perl does not use the C library's free) */
static SV *
aef_xs_body_sv__ (pTHX_ aef_xs_codec *c, aef_rpc_reader *r)
{
  const uint8_t *b;
  size_t n;
#ifdef AEF_XS_ADOPT
  uint8_t *p;
  size_t cap;

  if (aef_rpc_reader_take (r, &p, &n, &cap))
    {
      SV *sv = newSV_type (SVt_PV);

      p[n] = 0;
      SvPV_set (sv, (char *)p);
      SvCUR_set (sv, n);
      SvLEN_set (sv, cap);
      SvPOK_only (sv);
      if (c->recycle && !c->big)
        c->big = SvREFCNT_inc_simple_NN (sv);
      return sv;
    }
#endif
  aef_rpc_reader_body (r, &b, &n);
  return aef_xs_newsv__ (aTHX_ b, n);
}

int
aef_xs_thaw (pTHX_ aef_xs_codec *c, const uint8_t *p, size_t len, aef_rpc_reader *r)
{
  dSP;
  const uint8_t *b;
  size_t n;

  if (c->fast && aef_rpc_reader_body (r, &b, &n))
    {
      XPUSHs (sv_2mortal (aef_xs_body_sv__ (aTHX_ c, r)));
      PUTBACK;
      return 0;
    }

  if (c->fast)
    {
      const uint8_t *q = p, *end = p + len, *s;
      SSize_t base = SP - PL_stack_base; /* XPUSHs may move the stack */
      size_t n;
      int rc;

      while ((rc = aef_strlist_get (&q, end, &s, &n)) > 0)
        XPUSHs (sv_2mortal (aef_xs_newsv__ (aTHX_ s, n)));

      if (rc == 0)
        {
          PUTBACK;
          return 0;
        }

      SP = PL_stack_base + base;
    }

  PUSHMARK (SP);
  XPUSHs (sv_2mortal (newSVpvn ((const char *)p, len)));
  PUTBACK;

  /* the values land where the argument was: above the caller's mark */
  call_sv (c->thaw, G_ARRAY | G_EVAL);

  return AEF_XS_DIED ? -1 : 0;
}

void
aef_xs_popmark (pTHX)
{
  PL_stack_sp = PL_stack_base + POPMARK;
}

void
aef_xs_croak_size (pTHX_ const char *what, size_t size)
{
  croak ("AnyEvent::Fork::RPC: %s too large (%" UVuf " octets, at most 4294967295)",
         what, (UV)size);
}
