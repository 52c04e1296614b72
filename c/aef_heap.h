/*
 * aef_heap.h - indexed binary min-heap (the pool's scheduler queue).
 *
 * The heap holds (key, id) entries. Ids are small integers chosen by the
 * caller (below AEF_HEAP_MAX_ID); the heap keeps, for every id, the entry's
 * current position, so an entry whose key changed can be re-sifted, or
 * removed, in O(log n) without searching. The entry at position 0 has the
 * smallest key; ties are broken arbitrarily.
 *
 * The caller owns the aef_heap struct; the heap owns the two arrays it
 * allocates. Fields are tagged as libuv's are: read-only (callers may read
 * them) or private (only aef_heap.c touches them).
 */
#ifndef AEF_HEAP_H
#define AEF_HEAP_H

#include "aef.h"

/* Ids are < AEF_HEAP_MAX_ID (keeps the position table bounded). */
#define AEF_HEAP_MAX_ID (1u << 24)

/* pos[] value of an id that is not in the heap */
#define AEF_HEAP_NONE UINT32_MAX

typedef struct aef_heap_ent {
  /* read-only */
  int64_t key;
  uint32_t id;
} aef_heap_ent;

typedef struct aef_heap {
  /* read-only: ent[pos] for 0 <= pos < aef_heap_size */
  aef_heap_ent *ent; /* the heap array, len entries in use of cap */
  /* private */
  size_t len, cap;
  uint32_t *pos;     /* pos[id]: position in ent, or AEF_HEAP_NONE */
  size_t npos;       /* allocated size of pos[] (ids 0..npos-1 known) */
} aef_heap;

/* Initialise an empty heap. Allocates nothing. */
void aef_heap_init(aef_heap *h);

/* Release both arrays; the heap is empty and reusable afterwards. */
void aef_heap_free(aef_heap *h);

/* Number of entries. */
static inline size_t aef_heap_size(const aef_heap *h) { return h->len; }

/* Add id with key. Grows the arrays geometrically, overflow-checked.
 * Returns 0, -EINVAL (id >= AEF_HEAP_MAX_ID), -EEXIST (id already in the
 * heap) or -ENOMEM; the heap is unchanged on failure. */
int aef_heap_push(aef_heap *h, uint32_t id, int64_t key);

/* The smallest entry: 0 with *id / *key set (either may be NULL), or
 * -ENOENT when the heap is empty. */
int aef_heap_top(const aef_heap *h, uint32_t *id, int64_t *key);

/* Current position of id: 0..len-1, or -ENOENT when id is not in the heap
 * (including ids never pushed and ids >= AEF_HEAP_MAX_ID). */
long aef_heap_pos(const aef_heap *h, uint32_t id);

/* Give the entry at position pos the key key and restore the heap order
 * (sift up or down). Returns 0 or -ERANGE (pos >= len). */
int aef_heap_update_at(aef_heap *h, size_t pos, int64_t key);

/* Remove the entry at position pos (its id is no longer in the heap).
 * Returns 0 or -ERANGE (pos >= len). Never shrinks the arrays. */
int aef_heap_remove_at(aef_heap *h, size_t pos);

#endif
