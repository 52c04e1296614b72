/* fuzz_rpc_match.c - the parent's request ids and response matching.
 *
 * Input: one octet of options (bit 0: Async, else Sync; the rest: how far
 * below 0xffffffff the last id starts, so that ids wrap around to 1),
 * then operations of two octets each:
 *   op % 4 == 0, 1   a request (the second octet is its payload size)
 *   op % 4 == 2      the response to the arg-th outstanding request (by
 *                    age), or an event when none is outstanding
 *   op % 4 == 3      a response with an id made of arg (0: an event)
 * A reference model (the outstanding requests in a plain array, ids handed
 * out as previous + 1, wrapping from 0xffffffff to 1, skipping the ids
 * still outstanding) predicts every id written and every callback a
 * response is matched to: Sync responses answer the oldest request whatever
 * their id; Async ones the request with their id, else they are unexpected.
 * At the end every callback still waiting is dropped exactly once.
 */
#include "aef_rpc.h"
#include "fuzz.h"

#include <string.h>

#define MAXOPS 4096

typedef struct {
  uint32_t id[MAXOPS];
  uintptr_t cb[MAXOPS];
  size_t n; /* outstanding, oldest first */
} model;

static uint32_t get32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int outstanding(const model *m, uint32_t id)
{
  size_t i;

  for (i = 0; i < m->n; i++)
    if (m->id[i] == id)
      return 1;
  return 0;
}

static void take(model *m, size_t i)
{
  memmove(m->id + i, m->id + i + 1, (m->n - i - 1) * sizeof *m->id);
  memmove(m->cb + i, m->cb + i + 1, (m->n - i - 1) * sizeof *m->cb);
  m->n--;
}

/* a response (or event) frame "NN/a*" arrives */
static void respond(aef_rpc *r, uint32_t id, uint8_t arg)
{
  uint8_t f[8 + 1];

  f[0] = (uint8_t)(id >> 24);
  f[1] = (uint8_t)(id >> 16);
  f[2] = (uint8_t)(id >> 8);
  f[3] = (uint8_t)id;
  memcpy(f + 4, "\0\0\0\1", 4);
  f[8] = arg;
  FUZZ_CHECK(aef_buf_append(&r->in.buf, f, sizeof f) == 0);
}

static size_t drops;
static void drop(void *ctx, void *cb)
{
  model *m = ctx;
  size_t i;

  for (i = 0; i < m->n && m->cb[i] != (uintptr_t)cb; i++)
    ;
  FUZZ_CHECK(i < m->n); /* dropped once, and only what was waiting */
  take(m, i);
  drops++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static model m;
  int async;
  uint32_t last;
  uintptr_t next_cb = 1;
  size_t i, waiting;
  aef_rpc r;

  if (size < 1)
    return 0;
  async = data[0] & 1;
  last = async ? UINT32_MAX - (data[0] >> 1) : 0;
  m.n = 0;
  aef_rpc_init(&r, async, 0);
  r.id = last; /* (as if that many requests had gone before) */

  for (i = 1; i + 1 < size && i / 2 < MAXOPS; i += 2) {
    uint8_t op = data[i] % 4, arg = data[i + 1];

    if (op < 2) {
      size_t mark;
      uint32_t id = 0;
      static const uint8_t pay[255];

      if (async) {
        id = last;
        do
          id = id == UINT32_MAX ? 1 : id + 1;
        while (outstanding(&m, id));
      }
      FUZZ_CHECK(aef_rpc_begin(&r, arg) == 0);
      mark = r.mark;
      FUZZ_CHECK(aef_buf_append(&r.out, pay, arg) == 0 || !arg);
      FUZZ_CHECK(aef_rpc_end(&r, (void *)next_cb) == 0);

      /* the frame as written: [id], length, payload */
      if (async) {
        FUZZ_CHECK(get32(aef_buf_ptr(&r.out) + mark) == id && r.id == id);
        FUZZ_CHECK(get32(aef_buf_ptr(&r.out) + mark + 4) == arg);
        last = id;
      } else
        FUZZ_CHECK(get32(aef_buf_ptr(&r.out) + mark) == arg);
      aef_buf_consume(&r.out, aef_buf_size(&r.out)); /* "written" */
      m.id[m.n] = id;
      m.cb[m.n++] = next_cb++;
    } else {
      const uint8_t *p;
      size_t len;
      void *cb = NULL;
      uint32_t id;
      int want, got;
      size_t at = 0;

      if (op == 2)
        id = m.n ? (async ? m.id[arg % m.n] : 1) : 0;
      else
        id = (uint32_t)arg * 0x01010101u;
      if (!id)
        want = AEF_RPC_EVENT;
      else if (!async)
        want = m.n ? AEF_RPC_RESULT : AEF_RPC_UNEXPECTED;
      else {
        for (at = 0; at < m.n && m.id[at] != id; at++)
          ;
        want = at < m.n ? AEF_RPC_RESULT : AEF_RPC_UNEXPECTED;
      }

      respond(&r, id, arg);
      got = aef_rpc_next(&r, &p, &len, &cb);
      FUZZ_CHECK(got == want);
      FUZZ_CHECK(len == 1 && *p == arg);
      if (got == AEF_RPC_RESULT) {
        FUZZ_CHECK((uintptr_t)cb == m.cb[at]); /* Sync: at is 0, the oldest */
        take(&m, at);
      }
      FUZZ_CHECK(aef_rpc_next(&r, &p, &len, &cb) == AEF_RPC_NONE);
    }
    FUZZ_CHECK(aef_rpc_outstanding(&r) == m.n);
  }

  waiting = m.n;
  drops = 0;
  aef_rpc_free(&r, drop, &m);
  FUZZ_CHECK(drops == waiting && m.n == 0);
  return 0;
}
