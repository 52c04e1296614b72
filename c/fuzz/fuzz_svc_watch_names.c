/* libFuzzer harness for the inotify record parser of MessageFiles
 * (aef_svc_watch_names), checked against a reference model that walks the
 * records byte by byte. The first input byte chooses the suffix. */
#include "../aef_svc.h"
#include "fuzz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAXN__ 4096

typedef struct got__ {
  size_t n;
  size_t off[MAXN__], len[MAXN__];
  const uint8_t *base;
} got__;

static void cb__(void *arg, const char *name, size_t len)
{
  got__ *g = arg;

  FUZZ_CHECK (g->n < MAXN__);
  g->off[g->n] = (size_t)((const uint8_t *)name - g->base);
  g->len[g->n] = len;
  g->n++;
}

static uint32_t u32__(const uint8_t *p)
{
  uint32_t v;

  memcpy (&v, p, 4);
  return v;
}

/* the model: records of 16 header bytes (mask at 4, name length at 12)
 * and a name area; names are what precedes the first NUL of the area */
static int model__(const uint8_t *p, size_t n, const char *suffix, got__ *want)
{
  size_t at = 0, sl = strlen (suffix);
  int overflow = 0;

  want->n = 0;
  while (at != n) {
    uint32_t mask, nl;
    size_t l = 0;

    if (n - at < 16)
      return -EBADMSG;
    mask = u32__ (p + at + 4);
    nl = u32__ (p + at + 12);
    if ((size_t)nl > n - at - 16)
      return -EBADMSG;
    if (mask & 0x4000u)
      overflow = 1;
    while (l < nl && p[at + 16 + l])
      l++;
    if ((mask & 0x80u) && l > 0 && l >= sl && memcmp (p + at + 16 + l - sl, suffix, sl) == 0) {
      FUZZ_CHECK (want->n < MAXN__);
      want->off[want->n] = at + 16;
      want->len[want->n] = l;
      want->n++;
    }
    at += 16 + nl;
  }
  return overflow ? -EOVERFLOW : (int)want->n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *suffixes[] = { ".ready", "", "y" };
  static got__ got, want;
  const char *suffix;
  int r, m;
  size_t i;

  if (size < 1 || size > 65536)
    return 0;
  suffix = suffixes[data[0] % 3];
  data++;
  size--;
  got.n = 0;
  got.base = data;
  r = aef_svc_watch_names (data, size, suffix, cb__, &got);
  m = model__ (data, size, suffix, &want);
  FUZZ_CHECK (r == m);
  /* on a bad record the names before it are given: the model stops there too */
  FUZZ_CHECK (got.n == want.n);
  for (i = 0; i < got.n; i++)
    FUZZ_CHECK (got.off[i] == want.off[i] && got.len[i] == want.len[i]);
  return 0;
}
