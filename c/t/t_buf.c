/* t_buf.c - aef_buf: growth, consume + compaction, bounds, overflow. */
#include "aef.h"
#include "tap.h"

#include <errno.h>
#include <stdint.h>

/* The -ENOMEM test asks for an impossible allocation: let ASan return NULL
 * instead of aborting (unused in other builds). */
const char *__asan_default_options (void);
const char *__asan_default_options (void)
{
  return "allocator_may_return_null=1";
}

static int same_state (const aef_buf *a, const aef_buf *b)
{
  return a->data == b->data && a->off == b->off && a->len == b->len
         && a->cap == b->cap && a->max == b->max;
}

static void test_basics (void)
{
  aef_buf b;

  aef_buf_init (&b, 1000);
  ok (b.data == NULL && aef_buf_size (&b) == 0 && b.cap == 0, "init allocates nothing");
  ok (aef_buf_ptr (&b) == NULL, "ptr of an unallocated buffer (no UB: see UBSan build)");
  is_int (aef_buf_reserve (&b, 0), 0, "reserve 0 on empty buffer");
  ok (b.data == NULL, "reserve 0 allocates nothing");
  is_int (aef_buf_append (&b, NULL, 0), 0, "append of nothing");
  ok (b.data == NULL, "append of nothing allocates nothing");

  is_int (aef_buf_append (&b, "hello", 5), 0, "append hello");
  is_int (aef_buf_size (&b), 5, "size 5");
  is_mem (aef_buf_ptr (&b), "hello", 5, "content hello");
  ok (b.cap >= 5, "capacity covers content");

  aef_buf_consume (&b, 2);
  is_int (aef_buf_size (&b), 3, "consume 2 leaves 3");
  is_mem (aef_buf_ptr (&b), "llo", 3, "content llo");
  aef_buf_consume (&b, 3);
  is_int (aef_buf_size (&b), 0, "consume all");
  ok (b.off == 0 && b.len == 0, "consuming everything rewinds");

  aef_buf_free (&b);
  ok (b.data == NULL && b.cap == 0 && aef_buf_size (&b) == 0, "free empties");
  is_int (b.max, 1000, "free keeps max");
  is_int (aef_buf_append (&b, "again", 5), 0, "reusable after free");
  is_mem (aef_buf_ptr (&b), "again", 5, "content after reuse");
  aef_buf_free (&b);
}

static void test_growth (void)
{
  aef_buf b;
  size_t i, caps = 0, last = 0;
  int bad = 0;

  /* 100000 one-byte appends: geometric growth means few reallocations. */
  aef_buf_init (&b, SIZE_MAX);
  for (i = 0; i < 100000; i++) {
    uint8_t c = (uint8_t)(i * 7);

    if (aef_buf_append (&b, &c, 1))
      bad++;
    if (b.cap != last) {
      caps++;
      last = b.cap;
    }
  }
  is_int (bad, 0, "100000 appends succeed");
  is_int (aef_buf_size (&b), 100000, "size 100000");
  for (i = 0; i < 100000; i++)
    if (aef_buf_ptr (&b)[i] != (uint8_t)(i * 7))
      bad++;
  is_int (bad, 0, "content intact after growth");
  ok (caps <= 20, "geometric growth: %zu capacity changes", caps);
  ok (b.cap < 2 * 100000 + 64, "capacity not wasteful: %zu", b.cap);

  /* A big reservation gets at least what it asks for. */
  is_int (aef_buf_reserve (&b, 1000000), 0, "reserve 1000000 more");
  ok (b.cap - b.len >= 1000000, "room after content");
  is_int (aef_buf_size (&b), 100000, "content size unchanged");
  aef_buf_free (&b);
}

static void test_compaction (void)
{
  aef_buf b;
  uint8_t block[64];
  uint8_t *data;
  size_t i, cap;

  for (i = 0; i < sizeof block; i++)
    block[i] = (uint8_t)i;

  aef_buf_init (&b, SIZE_MAX);
  is_int (aef_buf_append (&b, block, 64), 0, "fill 64");
  data = b.data;
  cap = b.cap;
  aef_buf_consume (&b, 60);
  is_int (b.off, 60, "consumed space is not reclaimed eagerly");

  /* Needs more room than is left after the content: compaction suffices. */
  is_int (aef_buf_append (&b, block, (size_t)(cap - 64 + 10)), 0, "append after consume");
  ok (b.data == data && b.cap == cap, "compacted instead of growing");
  is_int (b.off, 0, "content moved to the front");
  is_mem (aef_buf_ptr (&b), block + 60, 4, "old content kept");
  is_mem (aef_buf_ptr (&b) + 4, block, 10, "new content follows");
  aef_buf_free (&b);

  /* When the content would fill more than half, grow (and compact too). */
  aef_buf_init (&b, SIZE_MAX);
  aef_buf_append (&b, block, 64);
  cap = b.cap;
  aef_buf_consume (&b, 10);
  is_int (aef_buf_reserve (&b, cap), 0, "reserve beyond capacity");
  ok (b.cap > cap, "grew");
  is_int (b.off, 0, "and compacted");
  is_mem (aef_buf_ptr (&b), block + 10, 54, "content kept");
  aef_buf_free (&b);
}

static void test_bounds (void)
{
  aef_buf b, saved;
  char big[200];

  memset (big, 'x', sizeof big);
  aef_buf_init (&b, 100);
  is_int (aef_buf_append (&b, big, 60), 0, "append 60");
  is_int (aef_buf_append (&b, big, 40), 0, "append up to max");
  is_int (b.cap, 100, "growth stops at max");
  saved = b;
  is_int (aef_buf_append (&b, big, 1), -EMSGSIZE, "one more byte: -EMSGSIZE");
  ok (same_state (&b, &saved), "unchanged after -EMSGSIZE");
  aef_buf_consume (&b, 50);
  is_int (aef_buf_append (&b, big, 50), 0, "max bounds content, not history");
  is_int (aef_buf_size (&b), 100, "size 100 again");
  is_int (aef_buf_reserve (&b, 1), -EMSGSIZE, "reserve past max: -EMSGSIZE");
  aef_buf_free (&b);

  aef_buf_init (&b, 0);
  is_int (aef_buf_append (&b, "x", 1), -EMSGSIZE, "max 0 holds nothing");
  is_int (aef_buf_reserve (&b, 0), 0, "but reserving 0 is fine");

  /* Overflow: content + extra past SIZE_MAX. */
  aef_buf_init (&b, SIZE_MAX);
  aef_buf_append (&b, "hello", 5);
  saved = b;
  is_int (aef_buf_reserve (&b, SIZE_MAX), -EMSGSIZE, "extra = SIZE_MAX: -EMSGSIZE");
  is_int (aef_buf_reserve (&b, SIZE_MAX - 4), -EMSGSIZE, "content + extra = SIZE_MAX + 1: -EMSGSIZE");
  ok (same_state (&b, &saved), "unchanged after overflow");

  /* Fits size_t but no allocator can provide it (half the address space:
   * not "negative", which valgrind would flag). */
  is_int (aef_buf_reserve (&b, SIZE_MAX / 2 - 5), -ENOMEM, "impossible allocation: -ENOMEM");
  ok (same_state (&b, &saved), "unchanged after -ENOMEM");
  is_mem (aef_buf_ptr (&b), "hello", 5, "content intact");
  aef_buf_free (&b);
}

int main (void)
{
  test_basics ();
  test_growth ();
  test_compaction ();
  test_bounds ();
  return done_testing ();
}
