/*
 * The simple-JSON tokenizer of the services' bus messages (see
 * aef_svc_json.h): what it accepts, it reads exactly; everything else is
 * refused for the caller's full decoder.
 */
#include "aef_svc_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct jp__ {
  const unsigned char *s;
  size_t len, pos;
  aef_svc_jtok *toks;
  size_t cap, n;
} jp__;

static void ws__(jp__ *p)
{
  while (p->pos < p->len) {
    unsigned char c = p->s[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
      break;
    p->pos++;
  }
}

static long tok__(jp__ *p, int kind)
{
  aef_svc_jtok *t;

  if (p->n >= p->cap)
    return -ENOSPC;
  t = &p->toks[p->n];
  memset(t, 0, sizeof *t);
  t->kind = (uint8_t)kind;
  return (long)p->n++;
}

static int hex4__(const unsigned char *h, unsigned *out)
{
  unsigned v = 0;
  int i;

  for (i = 0; i < 4; i++) {
    unsigned char c = h[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else
      return -EINVAL;
  }
  *out = v;
  return 0;
}

/* the escape at s[0] == '\\' (n bytes left): its length, *cp the code
 * point (a surrogate pair combined), or -EINVAL */
static long escape1__(const unsigned char *s, size_t n, unsigned *cp);

static long escape__(const unsigned char *s, size_t n, unsigned *cp)
{
  long e = escape1__(s, n, cp);

  /* (non-characters, U+FDD0..U+FDEF and U+xFFFE, U+xFFFF, are refused:
   * a full decoder may warn about them) */
  if (e > 0 && ((*cp >= 0xfdd0 && *cp <= 0xfdef) || (*cp & 0xfffe) == 0xfffe))
    return -EINVAL;
  return e;
}

static long escape1__(const unsigned char *s, size_t n, unsigned *cp)
{
  unsigned lo;

  if (n < 2)
    return -EINVAL;
  switch (s[1]) {
  case '"': *cp = '"'; return 2;
  case '\\': *cp = '\\'; return 2;
  case '/': *cp = '/'; return 2;
  case 'b': *cp = '\b'; return 2;
  case 'f': *cp = '\f'; return 2;
  case 'n': *cp = '\n'; return 2;
  case 'r': *cp = '\r'; return 2;
  case 't': *cp = '\t'; return 2;
  case 'u':
    if (n < 6 || hex4__(s + 2, cp))
      return -EINVAL;
    if (*cp >= 0xdc00 && *cp <= 0xdfff)
      return -EINVAL;
    if (*cp < 0xd800 || *cp > 0xdbff)
      return 6;
    if (n < 12 || s[6] != '\\' || s[7] != 'u' || hex4__(s + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
      return -EINVAL;
    *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    return 12;
  default:
    return -EINVAL;
  }
}

/* a string; p->pos is at the opening quote */
static long string__(jp__ *p)
{
  long i = tok__(p, AEF_SVC_JSTR), e;
  const unsigned char *s = p->s, *q = s + p->pos + 1, *end = s + p->len;
  unsigned cp;

  if (i < 0)
    return i;
  p->toks[i].off = (uint32_t)(q - s);
  while (q < end) {
    unsigned char c;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* (eight bytes at a time, to the first that is a control character,
     * above 0x7f, a quote or a backslash: the lowest byte flagged, as the
     * subtractions only flag wrongly bytes above one rightly flagged) */
    while (end - q >= 8) {
      uint64_t x, ctl, quote, bs, hit;
      memcpy(&x, q, 8);
      ctl = (x - 0x2020202020202020ull) & ~x;
      quote = x ^ 0x2222222222222222ull;
      quote = (quote - 0x0101010101010101ull) & ~quote;
      bs = x ^ 0x5c5c5c5c5c5c5c5cull;
      bs = (bs - 0x0101010101010101ull) & ~bs;
      hit = (ctl | quote | bs | x) & 0x8080808080808080ull;
      if (hit) {
        q += __builtin_ctzll(hit) >> 3;
        break;
      }
      q += 8;
    }
    if (q >= end)
      break;
#endif
    c = *q;
    /* (the usual bytes: printable ASCII but the quote and the backslash) */
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      q++;
      continue;
    }
    if (c == '"') {
      p->toks[i].len = (uint32_t)(q - s) - p->toks[i].off;
      p->pos = (size_t)(q + 1 - s);
      return 0;
    }
    if (c != '\\')
      return -EINVAL;
    if ((e = escape__(q, (size_t)(end - q), &cp)) < 0)
      return e;
    p->toks[i].esc = 1;
    q += e;
  }
  return -EINVAL;
}

static int digit__(jp__ *p)
{
  return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

/* the value of the decimal fraction at s (n bytes, as number__ checked
 * it) when it is exact: all its digits, as an integer, at most 2^53 and at
 * most 22 digits after the point. Then the integer and the power of ten
 * are both exact doubles, and their quotient, rounded once, is what
 * strtod gives. 0 when it is not (strtod's turn). */
static int fast_float__(const unsigned char *s, size_t n, double *out)
{
  static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
  uint64_t v = 0;
  size_t i = *s == '-', digits = 0, after = 0;
  int point = 0;

  for (; i < n; i++) {
    if (s[i] == '.') {
      point = 1;
      continue;
    }
    if (++digits > 16)
      return 0;
    v = v * 10 + (uint64_t)(s[i] - '0');
    after += (size_t)point;
  }
  if (v > ((uint64_t)1 << 53) || after > 22)
    return 0;
  *out = (double)v / pow10[after];
  if (*s == '-')
    *out = -*out;
  return 1;
}

static long number__(jp__ *p)
{
  size_t start = p->pos, digits = 0, n;
  int neg = 0, frac = 0;
  int64_t v = 0;
  long i;

  if (p->s[p->pos] == '-') {
    neg = 1;
    p->pos++;
  }
  if (!digit__(p))
    return -EINVAL;
  if (p->s[p->pos] == '0') {
    if (neg)
      return -EINVAL;                           /* -0, -0.x */
    p->pos++;
    digits = 1;
  }
  else {
    /* (the value of an integer part longer than 18 digits is not used:
     * it is refused, or a fraction's) */
    while (digit__(p)) {
      if (++digits <= 18)
        v = v * 10 + (p->s[p->pos] - '0');
      p->pos++;
    }
  }
  if (p->pos < p->len && p->s[p->pos] == '.') {
    p->pos++;
    if (!digit__(p))
      return -EINVAL;
    while (digit__(p))
      p->pos++;
    frac = 1;
  }
  if ((p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) || (!frac && digits > 18))
    return -EINVAL;
  if ((i = tok__(p, frac ? AEF_SVC_JFLOAT : AEF_SVC_JINT)) < 0)
    return i;
  n = p->pos - start;
  p->toks[i].off = (uint32_t)start;
  p->toks[i].len = (uint32_t)n;
  if (frac) {
    char buf[48], *end;
    double d;

    if (n > 40)
      return -EINVAL;
    if (fast_float__(p->s + start, n, &p->toks[i].v.d))
      return 0;
    memcpy(buf, p->s + start, n);
    buf[n] = 0;
    d = strtod(buf, &end);
    /* (a locale whose radix is not '.' stops strtod early: refused) */
    if (end != buf + n || !isfinite(d))
      return -EINVAL;
    p->toks[i].v.d = d;
  }
  else
    p->toks[i].v.i = neg ? -v : v;
  return 0;
}

static long literal__(jp__ *p, const char *word, size_t wl, int kind)
{
  if (p->len - p->pos < wl || memcmp(p->s + p->pos, word, wl))
    return -EINVAL;
  p->pos += wl;
  return tok__(p, kind) < 0 ? -ENOSPC : 0;
}

static long value__(jp__ *p, int depth)
{
  long i, r;
  unsigned char close;
  uint32_t count = 0;

  ws__(p);
  if (p->pos >= p->len)
    return -EINVAL;
  switch (p->s[p->pos]) {
  case '"':
    return string__(p);
  case 'n':
    return literal__(p, "null", 4, AEF_SVC_JNULL);
  case 't':
    return literal__(p, "true", 4, AEF_SVC_JTRUE);
  case 'f':
    return literal__(p, "false", 5, AEF_SVC_JFALSE);
  case '{':
  case '[':
    break;
  default:
    return number__(p);
  }
  if (depth >= AEF_SVC_JSON_DEPTH)
    return -EINVAL;
  close = p->s[p->pos] == '{' ? '}' : ']';
  if ((i = tok__(p, close == '}' ? AEF_SVC_JOBJ : AEF_SVC_JARR)) < 0)
    return i;
  p->pos++;
  ws__(p);
  if (p->pos < p->len && p->s[p->pos] == close) {
    p->pos++;
    return 0;
  }
  while (1) {
    if (close == '}') {
      ws__(p);
      if (p->pos >= p->len || p->s[p->pos] != '"')
        return -EINVAL;
      if ((r = string__(p)) < 0)
        return r;
      ws__(p);
      if (p->pos >= p->len || p->s[p->pos] != ':')
        return -EINVAL;
      p->pos++;
    }
    if ((r = value__(p, depth + 1)) < 0)
      return r;
    count++;
    ws__(p);
    if (p->pos >= p->len)
      return -EINVAL;
    if (p->s[p->pos] == close) {
      p->pos++;
      p->toks[i].len = count;
      return 0;
    }
    if (p->s[p->pos] != ',')
      return -EINVAL;
    p->pos++;
  }
}

long aef_svc_json_parse(const char *s, size_t len, aef_svc_jtok *toks, size_t cap)
{
  jp__ p;
  long r;

  if (len > AEF_SVC_JSON_MAX)
    return -EINVAL;
  p.s = (const unsigned char *)s;
  p.len = len;
  p.pos = 0;
  p.toks = toks;
  p.cap = cap;
  p.n = 0;
  if ((r = value__(&p, 0)) < 0)
    return r;
  ws__(&p);
  if (p.pos != len)
    return -EINVAL;
  return (long)p.n;
}

long aef_svc_json_unescape(char *dst, const char *s, size_t len, int *wide)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, o = 0;
  unsigned cp;
  long e;

  *wide = 0;
  while (i < len) {
    if (u[i] != '\\') {
      dst[o++] = (char)u[i++];
      continue;
    }
    if ((e = escape__(u + i, len - i, &cp)) < 0)
      return e;
    i += (size_t)e;
    /* (each escape is at least as long as its UTF-8: 2 -> 1, 6 -> 1..3,
     * 12 -> 4) */
    if (cp < 0x80)
      dst[o++] = (char)cp;
    else {
      *wide = 1;
      if (cp < 0x800) {
        dst[o++] = (char)(0xc0 | (cp >> 6));
      }
      else {
        if (cp < 0x10000)
          dst[o++] = (char)(0xe0 | (cp >> 12));
        else {
          dst[o++] = (char)(0xf0 | (cp >> 18));
          dst[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        }
        dst[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      }
      dst[o++] = (char)(0x80 | (cp & 0x3f));
    }
  }
  return (long)o;
}
