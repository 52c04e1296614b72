/* t_heap.c - aef_heap: basics, error returns, position bookkeeping, and a
 * randomized run against a brute-force model. */
#include "aef_heap.h"
#include "tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Heap order holds and pos[] is the exact inverse of ent[].id. */
static int consistent (const aef_heap *h)
{
  size_t i, inheap = 0;

  for (i = 0; i < h->len; i++) {
    if (i && h->ent[(i - 1) / 2].key > h->ent[i].key)
      return 0;
    if (h->ent[i].id >= h->npos || h->pos[h->ent[i].id] != i)
      return 0;
  }
  for (i = 0; i < h->npos; i++)
    if (h->pos[i] != AEF_HEAP_NONE) {
      if (h->pos[i] >= h->len || h->ent[h->pos[i]].id != i)
        return 0;
      inheap++;
    }
  return inheap == h->len;
}

static void test_basics (void)
{
  aef_heap h;
  uint32_t id = 77;
  int64_t key = 77;

  aef_heap_init (&h);
  ok (h.ent == NULL && h.pos == NULL && aef_heap_size (&h) == 0, "init allocates nothing");
  is_int (aef_heap_top (&h, &id, &key), -ENOENT, "top of empty heap");
  ok (id == 77 && key == 77, "failed top leaves outputs alone");
  is_int (aef_heap_pos (&h, 0), -ENOENT, "pos in empty heap");
  is_int (aef_heap_update_at (&h, 0, 1), -ERANGE, "update_at on empty heap");
  is_int (aef_heap_remove_at (&h, 0), -ERANGE, "remove_at on empty heap");

  is_int (aef_heap_push (&h, 3, 5), 0, "push id 3 key 5");
  is_int (aef_heap_push (&h, 0, 2), 0, "push id 0 key 2");
  is_int (aef_heap_push (&h, 9, 7), 0, "push id 9 key 7");
  is_int (aef_heap_push (&h, 4, 2), 0, "push id 4 key 2 (tie)");
  is_int (aef_heap_size (&h), 4, "size 4");
  ok (consistent (&h), "consistent after pushes");
  ok (h.npos >= 10, "position table covers id 9");

  is_int (aef_heap_push (&h, 9, 1), -EEXIST, "pushing a present id");
  is_int (aef_heap_push (&h, AEF_HEAP_MAX_ID, 1), -EINVAL, "id at the bound");
  is_int (aef_heap_push (&h, UINT32_MAX, 1), -EINVAL, "id UINT32_MAX");
  is_int (aef_heap_size (&h), 4, "failed pushes change nothing");
  ok (consistent (&h), "still consistent");
  is_int (aef_heap_pos (&h, 5), -ENOENT, "pos of an id never pushed");
  is_int (aef_heap_pos (&h, 1000), -ENOENT, "pos beyond the table");
  is_int (aef_heap_pos (&h, UINT32_MAX), -ENOENT, "pos of UINT32_MAX");

  is_int (aef_heap_top (&h, &id, &key), 0, "top");
  is_int (key, 2, "top key is the minimum");
  ok (id == 0 || id == 4, "top id is one of the two minima");
  is_int (aef_heap_top (&h, NULL, NULL), 0, "top with NULL outputs");

  /* the load pattern of the pool: raise the top, then lower it again */
  is_int (aef_heap_update_at (&h, 0, 3), 0, "raise the top to 3");
  aef_heap_top (&h, &id, &key);
  is_int (key, 2, "other key-2 entry is now on top");
  ok (consistent (&h), "consistent after raising");
  is_int (aef_heap_update_at (&h, 0, 8), 0, "raise it to 8");
  aef_heap_top (&h, &id, &key);
  ok (id == 0 || id == 4, "the raised-to-3 entry (key 3) is on top");
  is_int (key, 3, "top key 3");
  is_int (aef_heap_update_at (&h, (size_t)aef_heap_pos (&h, 9), -1), 0, "lower id 9 to -1");
  aef_heap_top (&h, &id, &key);
  ok (id == 9 && key == -1, "id 9 (negative key) on top");
  ok (consistent (&h), "consistent after lowering");
  is_int (aef_heap_update_at (&h, 4, 0), -ERANGE, "update_at past the end");

  is_int (aef_heap_remove_at (&h, (size_t)aef_heap_pos (&h, 3)), 0, "remove id 3");
  is_int (aef_heap_pos (&h, 3), -ENOENT, "id 3 is gone");
  is_int (aef_heap_size (&h), 3, "size 3");
  ok (consistent (&h), "consistent after remove");
  is_int (aef_heap_remove_at (&h, 3), -ERANGE, "remove_at past the end");
  is_int (aef_heap_push (&h, 3, 0), 0, "id 3 can be pushed again");
  ok (consistent (&h), "consistent after re-push");

  while (aef_heap_size (&h))
    aef_heap_remove_at (&h, 0);
  ok (consistent (&h), "consistent when emptied by removing the top");
  is_int (aef_heap_top (&h, NULL, NULL), -ENOENT, "empty again");

  aef_heap_free (&h);
  ok (h.ent == NULL && h.pos == NULL && h.len == 0 && h.cap == 0 && h.npos == 0, "free empties");
  is_int (aef_heap_push (&h, 1, 1), 0, "reusable after free");
  aef_heap_free (&h);
}

static void test_growth (void)
{
  aef_heap h;
  uint32_t i, n = 5000;
  int bad = 0;
  int64_t key, last = INT64_MIN;

  aef_heap_init (&h);
  for (i = 0; i < n; i++)
    if (aef_heap_push (&h, (i * 7919u) % n, (int64_t)((i * 104729u) % 1000) - 500))
      bad++;
  is_int (bad, 0, "5000 pushes in scattered id order");
  ok (consistent (&h), "consistent after growth");
  ok (h.cap >= n && h.npos >= n, "arrays grew");
  is_int (aef_heap_push (&h, AEF_HEAP_MAX_ID - 1, 0), 0, "largest id");
  is_int (h.npos, AEF_HEAP_MAX_ID, "position table stops at the bound");
  aef_heap_remove_at (&h, (size_t)aef_heap_pos (&h, AEF_HEAP_MAX_ID - 1));

  /* heap sort by repeatedly removing the top */
  while (aef_heap_top (&h, NULL, &key) == 0) {
    if (key < last)
      bad++;
    last = key;
    aef_heap_remove_at (&h, 0);
  }
  is_int (bad, 0, "tops come out in ascending order");
  aef_heap_free (&h);
}

/* Random push / update / remove / top against an array of (present, key)
 * per id; after every operation the heap must be consistent and its top
 * key must be the model's minimum. */
#define IDS__ 64

static void test_random (void)
{
  aef_heap h;
  int present[IDS__] = { 0 };
  int64_t model[IDS__];
  unsigned long op, errors = 0, mismatches = 0, inconsistent = 0, tops = 0;

  srand (12345);
  aef_heap_init (&h);

  for (op = 0; op < 200000; op++) {
    uint32_t id = (uint32_t)(rand () % IDS__);
    int64_t key = rand () % 21 - 10;
    int what = rand () % 4;
    long pos = aef_heap_pos (&h, id);

    if ((pos >= 0) != present[id])
      mismatches++;

    if (what == 0) {
      int r = aef_heap_push (&h, id, key);

      if (r != (present[id] ? -EEXIST : 0))
        errors++;
      if (!present[id]) {
        present[id] = 1;
        model[id] = key;
      }
    } else if (what == 1 && present[id]) {
      if (aef_heap_update_at (&h, (size_t)pos, key))
        errors++;
      model[id] = key;
    } else if (what == 2 && present[id]) {
      if (aef_heap_remove_at (&h, (size_t)pos))
        errors++;
      present[id] = 0;
    } else {
      /* top, and the pool's pattern: change the top's key in place */
      uint32_t tid;
      int64_t tkey, min = INT64_MAX;
      int i, n = 0;

      for (i = 0; i < IDS__; i++)
        if (present[i]) {
          n++;
          if (model[i] < min)
            min = model[i];
        }
      if (aef_heap_top (&h, &tid, &tkey) != (n ? 0 : -ENOENT))
        errors++;
      else if (n) {
        tops++;
        if (tkey != min || !present[tid] || model[tid] != tkey)
          mismatches++;
        if (what == 3 && rand () % 2) {
          aef_heap_update_at (&h, 0, tkey + 1);
          model[tid] = tkey + 1;
        }
      }
    }

    if (!consistent (&h))
      inconsistent++;
  }

  {
    int i, n = 0;

    for (i = 0; i < IDS__; i++)
      n += present[i];
    is_int (aef_heap_size (&h), n, "size matches the model");
  }
  is_int (errors, 0, "200000 random operations return what the model expects");
  is_int (mismatches, 0, "top and membership always match the model");
  is_int (inconsistent, 0, "heap order and positions consistent after every operation");
  ok (tops > 10000, "many non-empty tops checked (%lu)", tops);
  aef_heap_free (&h);
}

int main (void)
{
  test_basics ();
  test_growth ();
  test_random ();
  return done_testing ();
}
