/* aef_buf.c - growable byte buffers with a consumed prefix. */
#include "aef.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP__ 64

void aef_buf_init(aef_buf *b, size_t max)
{
  b->data = NULL;
  b->off = b->len = b->cap = 0;
  b->max = max;
}

int aef_buf_reserve(aef_buf *b, size_t extra)
{
  size_t content = b->len - b->off, need;

  if (extra > b->max - content) /* also catches content + extra > SIZE_MAX */
    return -EMSGSIZE;
  if (b->cap - b->len >= extra)
    return 0;
  need = content + extra;

  /* Compacting alone is enough (and amortised O(1)) while the result fills
   * at most half the storage; otherwise grow geometrically, up to max. */
  if (need > b->cap / 2) {
    size_t cap = b->cap > SIZE_MAX / 2 ? SIZE_MAX : b->cap * 2;
    uint8_t *data;

    if (cap < need)
      cap = need;
    if (cap < MIN_CAP__)
      cap = MIN_CAP__;
    if (cap > b->max)
      cap = b->max; /* still >= need */
    if (cap > b->cap) {
      data = realloc(b->data, cap);
      if (!data)
        return -ENOMEM;
      b->data = data;
      b->cap = cap;
    }
  }

  if (b->off) {
    memmove(b->data, b->data + b->off, content);
    b->off = 0;
    b->len = content;
  }
  return 0;
}

int aef_buf_append(aef_buf *b, const void *p, size_t n)
{
  int r;

  if (n == 0)
    return 0;
  r = aef_buf_reserve(b, n);
  if (r)
    return r;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void aef_buf_consume(aef_buf *b, size_t n)
{
  b->off += n;
  if (b->off == b->len) /* empty: start again at the front for free */
    b->off = b->len = 0;
}

void aef_buf_free(aef_buf *b)
{
  free(b->data);
  aef_buf_init(b, b->max);
}
