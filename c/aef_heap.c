/* aef_heap.c - indexed binary min-heap keyed on int64_t. */
#include "aef_heap.h"

#include <errno.h>
#include <stdlib.h>

#define MIN_CAP__ 8

void aef_heap_init(aef_heap *h)
{
  h->ent = NULL;
  h->len = h->cap = 0;
  h->pos = NULL;
  h->npos = 0;
}

void aef_heap_free(aef_heap *h)
{
  free(h->ent);
  free(h->pos);
  aef_heap_init(h);
}

/* Smallest power-of-two multiple of the current size (at least MIN_CAP__)
 * that holds need elements, never above AEF_HEAP_MAX_ID. need is at most
 * AEF_HEAP_MAX_ID, so neither the doubling nor the byte size can overflow
 * (checked again below for the byte size, which is what realloc sees). */
static size_t grown__(size_t cur, size_t need)
{
  size_t n = cur < MIN_CAP__ ? MIN_CAP__ : cur;

  while (n < need)
    n *= 2;
  return n > AEF_HEAP_MAX_ID ? AEF_HEAP_MAX_ID : n;
}

static int grow_pos__(aef_heap *h, uint32_t id)
{
  size_t n = grown__(h->npos, (size_t)id + 1), i;
  uint32_t *pos;

  if (n > SIZE_MAX / sizeof *pos)
    return -ENOMEM;
  pos = realloc(h->pos, n * sizeof *pos);
  if (!pos)
    return -ENOMEM;
  for (i = h->npos; i < n; i++)
    pos[i] = AEF_HEAP_NONE;
  h->pos = pos;
  h->npos = n;
  return 0;
}

static int grow_ent__(aef_heap *h)
{
  size_t n = grown__(h->cap, h->len + 1);
  aef_heap_ent *ent;

  if (n <= h->len || n > SIZE_MAX / sizeof *ent)
    return -ENOMEM;
  ent = realloc(h->ent, n * sizeof *ent);
  if (!ent)
    return -ENOMEM;
  h->ent = ent;
  h->cap = n;
  return 0;
}

/* Put e at position i and record it in pos[]. */
static inline void place__(aef_heap *h, size_t i, aef_heap_ent e)
{
  h->ent[i] = e;
  h->pos[e.id] = (uint32_t)i;
}

/* Move the entry at i towards the root while it is smaller than its
 * parent. Returns its final position. */
static size_t sift_up__(aef_heap *h, size_t i)
{
  aef_heap_ent e = h->ent[i];

  while (i > 0) {
    size_t parent = (i - 1) / 2;

    if (h->ent[parent].key <= e.key)
      break;
    place__(h, i, h->ent[parent]);
    i = parent;
  }
  place__(h, i, e);
  return i;
}

/* Move the entry at i towards the leaves while a child is smaller. */
static void sift_down__(aef_heap *h, size_t i)
{
  aef_heap_ent e = h->ent[i];

  for (;;) {
    size_t c = 2 * i + 1;

    if (c >= h->len)
      break;
    if (c + 1 < h->len && h->ent[c + 1].key < h->ent[c].key)
      c++;
    if (e.key <= h->ent[c].key)
      break;
    place__(h, i, h->ent[c]);
    i = c;
  }
  place__(h, i, e);
}

int aef_heap_push(aef_heap *h, uint32_t id, int64_t key)
{
  int r;

  if (id >= AEF_HEAP_MAX_ID)
    return -EINVAL;
  if (id < h->npos && h->pos[id] != AEF_HEAP_NONE)
    return -EEXIST;
  if (id >= h->npos && (r = grow_pos__(h, id)) < 0)
    return r;
  if (h->len == h->cap && (r = grow_ent__(h)) < 0)
    return r;

  h->ent[h->len].key = key;
  h->ent[h->len].id = id;
  h->pos[id] = (uint32_t)h->len;
  sift_up__(h, h->len++);
  return 0;
}

int aef_heap_top(const aef_heap *h, uint32_t *id, int64_t *key)
{
  if (!h->len)
    return -ENOENT;
  if (id)
    *id = h->ent[0].id;
  if (key)
    *key = h->ent[0].key;
  return 0;
}

long aef_heap_pos(const aef_heap *h, uint32_t id)
{
  if (id >= h->npos || h->pos[id] == AEF_HEAP_NONE)
    return -ENOENT;
  return (long)h->pos[id];
}

int aef_heap_update_at(aef_heap *h, size_t pos, int64_t key)
{
  if (pos >= h->len)
    return -ERANGE;
  h->ent[pos].key = key;
  if (sift_up__(h, pos) == pos)
    sift_down__(h, pos);
  return 0;
}

int aef_heap_remove_at(aef_heap *h, size_t pos)
{
  if (pos >= h->len)
    return -ERANGE;
  h->pos[h->ent[pos].id] = AEF_HEAP_NONE;
  if (pos != --h->len) {
    /* the last entry fills the hole and moves whichever way it must */
    place__(h, pos, h->ent[h->len]);
    if (sift_up__(h, pos) == pos)
      sift_down__(h, pos);
  }
  return 0;
}
