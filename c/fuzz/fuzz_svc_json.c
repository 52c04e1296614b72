/* libFuzzer harness for the simple-JSON tokenizer of the bus messages
 * (aef_svc_json_parse, aef_svc_json_unescape), checked against a reference
 * model: a second, plainer reader of the same accepted subset that writes
 * the value in a canonical form. Both must accept and refuse the same
 * texts, the tokens (walked, strings unescaped) must give the model's
 * canonical form, a smaller token buffer must give -ENOSPC exactly when
 * the text has more tokens, and no string may unescape longer than its
 * quoted bytes. The first input byte chooses the token buffer's size. */
#include "fuzz.h"
#include "../aef_svc_json.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* ---- the model ---- */

typedef struct m__ {
  const unsigned char *s;
  size_t n, i;
  char *out;
  size_t o, cap;
  size_t toks;
} m__;

static void put__(m__ *m, const void *p, size_t l)
{
  FUZZ_CHECK(m->o + l <= m->cap);
  memcpy(m->out + m->o, p, l);
  m->o += l;
}

static int peek__(m__ *m) { return m->i < m->n ? m->s[m->i] : -1; }

static void sp__(m__ *m)
{
  while (peek__(m) == ' ' || peek__(m) == '\t' || peek__(m) == '\n' || peek__(m) == '\r')
    m->i++;
}

static int hexval__(int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static long u4__(m__ *m)
{
  long v = 0;
  int k;

  if (m->n - m->i < 4)
    return -1;
  for (k = 0; k < 4; k++) {
    int h = hexval__(m->s[m->i + k]);
    if (h < 0)
      return -1;
    v = v * 16 + h;
  }
  m->i += 4;
  return v;
}

static int utf8__(m__ *m, unsigned long c)
{
  unsigned char b[4];
  size_t l;

  if (c < 0x80) { b[0] = (unsigned char)c; l = 1; }
  else if (c < 0x800) { b[0] = 0xc0 | (c >> 6); b[1] = 0x80 | (c & 0x3f); l = 2; }
  else if (c < 0x10000) { b[0] = 0xe0 | (c >> 12); b[1] = 0x80 | ((c >> 6) & 0x3f); b[2] = 0x80 | (c & 0x3f); l = 3; }
  else { b[0] = 0xf0 | (c >> 18); b[1] = 0x80 | ((c >> 12) & 0x3f); b[2] = 0x80 | ((c >> 6) & 0x3f); b[3] = 0x80 | (c & 0x3f); l = 4; }
  put__(m, b, l);
  return 0;
}

/* a string (at the quote): "s" then its UTF-8 bytes then NUL-free end mark */
static int mstr__(m__ *m)
{
  m->i++;
  m->toks++;
  put__(m, "s", 1);
  for (;;) {
    int c = peek__(m);
    if (c < 0)
      return -1;
    m->i++;
    if (c == '"')
      break;
    if (c < 0x20 || c >= 0x80)
      return -1;
    if (c != '\\') {
      unsigned char b = (unsigned char)c;
      put__(m, &b, 1);
      continue;
    }
    c = peek__(m);
    m->i++;
    {
      const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
      const char *hit = c > 0 ? strchr(from, c) : NULL;
      long u, lo;
      if (hit && c) {
        put__(m, to + (hit - from), 1);
        continue;
      }
      if (c != 'u' || (u = u4__(m)) < 0)
        return -1;
      if (u >= 0xdc00 && u <= 0xdfff)
        return -1;
      if (u >= 0xd800 && u <= 0xdbff) {
        if (peek__(m) != '\\')
          return -1;
        m->i++;
        if (peek__(m) != 'u')
          return -1;
        m->i++;
        if ((lo = u4__(m)) < 0xdc00 || lo > 0xdfff)
          return -1;
        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
      }
      if ((u >= 0xfdd0 && u <= 0xfdef) || (u & 0xfffe) == 0xfffe)
        return -1;
      utf8__(m, (unsigned long)u);
    }
  }
  put__(m, "\"", 1);
  return 0;
}

static int mnum__(m__ *m)
{
  size_t st = m->i, intd = 0;
  int neg = 0, frac = 0;
  char buf[64], tag[80];
  int l;

  if (peek__(m) == '-') { neg = 1; m->i++; }
  while (peek__(m) >= '0' && peek__(m) <= '9') { m->i++; intd++; }
  if (!intd)
    return -1;
  if (m->s[st + neg] == '0' && (intd > 1 || neg))
    return -1;
  if (peek__(m) == '.') {
    size_t fd = 0;
    m->i++;
    while (peek__(m) >= '0' && peek__(m) <= '9') { m->i++; fd++; }
    if (!fd)
      return -1;
    frac = 1;
  }
  if (peek__(m) == 'e' || peek__(m) == 'E')
    return -1;
  if (!frac && intd > 18)
    return -1;
  if (m->i - st > 40 && frac)
    return -1;
  m->toks++;
  if (m->i - st >= sizeof buf)
    return -1;
  memcpy(buf, m->s + st, m->i - st);
  buf[m->i - st] = 0;
  if (frac) {
    double d = strtod(buf, NULL);
    if (!isfinite(d))
      return -1;
    l = snprintf(tag, sizeof tag, "d%a;", d);
  }
  else
    l = snprintf(tag, sizeof tag, "i%lld;", strtoll(buf, NULL, 10));
  put__(m, tag, (size_t)l);
  return 0;
}

static int mval__(m__ *m, int depth)
{
  int c, close, count = 0;
  char tag[24];
  size_t at;

  sp__(m);
  c = peek__(m);
  if (c == '"')
    return mstr__(m);
  if (c == '-' || (c >= '0' && c <= '9'))
    return mnum__(m);
  if (c == 'n' || c == 't' || c == 'f') {
    const char *w = c == 'n' ? "null" : c == 't' ? "true" : "false";
    size_t l = strlen(w);
    if (m->n - m->i < l || memcmp(m->s + m->i, w, l))
      return -1;
    m->i += l;
    m->toks++;
    put__(m, w, 1);
    return 0;
  }
  if (c != '{' && c != '[')
    return -1;
  if (depth >= AEF_SVC_JSON_DEPTH)
    return -1;
  close = c == '{' ? '}' : ']';
  m->i++;
  m->toks++;
  /* the member count goes in front: written last, in a fixed-width slot */
  at = m->o;
  put__(m, "          ", 10);
  sp__(m);
  if (peek__(m) != close) {
    for (;;) {
      if (close == '}') {
        sp__(m);
        if (peek__(m) != '"' || mstr__(m))
          return -1;
        sp__(m);
        if (peek__(m) != ':')
          return -1;
        m->i++;
      }
      if (mval__(m, depth + 1))
        return -1;
      count++;
      sp__(m);
      if (peek__(m) == ',') { m->i++; continue; }
      if (peek__(m) == close)
        break;
      return -1;
    }
  }
  m->i++;
  snprintf(tag, sizeof tag, "%c%08d", c, count);
  memcpy(m->out + at, tag, 9);
  m->out[at + 9] = ' ';
  put__(m, close == '}' ? "}" : "]", 1);
  return 0;
}

/* ---- the tokens, written in the model's canonical form ---- */

static void twalk__(const char *s, const aef_svc_jtok *t, size_t nt, size_t *k, m__ *o)
{
  const aef_svc_jtok *x;
  char tag[80], tmp[4096];
  uint32_t j;
  int l, wide;
  long u;

  FUZZ_CHECK(*k < nt);
  x = &t[(*k)++];
  switch (x->kind) {
  case AEF_SVC_JNULL: put__(o, "n", 1); return;
  case AEF_SVC_JTRUE: put__(o, "t", 1); return;
  case AEF_SVC_JFALSE: put__(o, "f", 1); return;
  case AEF_SVC_JINT:
    l = snprintf(tag, sizeof tag, "i%lld;", (long long)x->v.i);
    put__(o, tag, (size_t)l);
    return;
  case AEF_SVC_JFLOAT:
    l = snprintf(tag, sizeof tag, "d%a;", x->v.d);
    put__(o, tag, (size_t)l);
    return;
  case AEF_SVC_JSTR:
    FUZZ_CHECK(x->len < sizeof tmp);
    u = aef_svc_json_unescape(tmp, s + x->off, x->len, &wide);
    FUZZ_CHECK(u >= 0 && (size_t)u <= x->len);
    FUZZ_CHECK(x->esc || ((size_t)u == x->len && !memcmp(tmp, s + x->off, x->len)));
    put__(o, "s", 1);
    put__(o, tmp, (size_t)u);
    put__(o, "\"", 1);
    {
      long q;
      int hi = 0;
      for (q = 0; q < u; q++)
        hi |= (unsigned char)tmp[q] >= 0x80;
      FUZZ_CHECK(hi == wide);
    }
    return;
  case AEF_SVC_JOBJ:
  case AEF_SVC_JARR:
    l = snprintf(tag, sizeof tag, "%c%08u ", x->kind == AEF_SVC_JOBJ ? '{' : '[', (unsigned)x->len);
    put__(o, tag, (size_t)l);
    for (j = 0; j < x->len; j++) {
      if (x->kind == AEF_SVC_JOBJ) {
        FUZZ_CHECK(*k < nt && t[*k].kind == AEF_SVC_JSTR);
        twalk__(s, t, nt, k, o);
      }
      twalk__(s, t, nt, k, o);
    }
    put__(o, x->kind == AEF_SVC_JOBJ ? "}" : "]", 1);
    return;
  }
  FUZZ_CHECK(!"a token of no kind");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static aef_svc_jtok toks[4096];
  static char mo[65536], to[65536];
  m__ m = { 0 }, t = { 0 };
  size_t cap, k = 0;
  long n;
  int ok;

  if (size < 1 || size > 4000)
    return 0;
  cap = data[0] % 2 ? 4096 : (size_t)data[0] / 2;
  data++;
  size--;

  m.s = data;
  m.n = size;
  m.out = mo;
  m.cap = sizeof mo;
  ok = mval__(&m, 0) == 0;
  if (ok) {
    sp__(&m);
    ok = m.i == size;
  }

  n = aef_svc_json_parse((const char *)data, size, toks, cap);
  if (!ok) {
    FUZZ_CHECK(n == -EINVAL || (n == -ENOSPC && cap < 4096));
    return 0;
  }
  if (m.toks > cap) {
    FUZZ_CHECK(n == -ENOSPC);
    return 0;
  }
  FUZZ_CHECK(n > 0 && (size_t)n == m.toks);
  t.out = to;
  t.cap = sizeof to;
  twalk__((const char *)data, toks, (size_t)n, &k, &t);
  FUZZ_CHECK(k == (size_t)n);
  FUZZ_CHECK(t.o == m.o && !memcmp(t.out, m.out, m.o));
  return 0;
}
