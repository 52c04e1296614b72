/* fuzz_rpc_sync.c - the synchronous child's loop (aef_rpc_sync_serve).
 *
 * The input is the request stream ("N/a*" frames) read from a descriptor
 * until end-of-file. The handler answers each request with one frame
 * whose payload is the request's octets reversed; a request starting
 * with 0xfe is answered through aef_rpc_child_writev (the large-response
 * path) instead of the buffer, one starting with 0xff ends the loop
 * (handler result 7) without an answer. A reference model computes the
 * expected output ("NN/a*" frames, id 1) and the loop's result: every
 * complete request before the end answered in order, a trailing partial
 * request dropped, result 0 at end-of-file; and no storage left for
 * requests once the stream ended.
 */
#include "aef_rpc.h"
#include "fuzz.h"

#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define STOP 7

static void header(uint8_t *h, uint32_t len)
{
  aef_rpc_header(h, 1, len);
}

static int handler(void *ctx, const uint8_t *p, size_t len, aef_rpc_child *c)
{
  size_t i;
  size_t *calls = ctx;

  ++*calls;
  if (len && p[0] == 0xff)
    return STOP;
  if (len && p[0] == 0xfe) {
    uint8_t h[AEF_RPC_HDR], *rev = malloc(len);
    struct iovec iov[2];
    int rc;

    FUZZ_CHECK(rev != NULL);
    for (i = 0; i < len; i++)
      rev[i] = p[len - 1 - i];
    header(h, (uint32_t)len);
    iov[0].iov_base = h;
    iov[0].iov_len = sizeof h;
    iov[1].iov_base = rev;
    iov[1].iov_len = len;
    rc = aef_rpc_child_writev(c, iov, 2);
    free(rev);
    return rc;
  }
  FUZZ_CHECK(aef_rpc_child_begin(c, 1, len) == 0);
  for (i = 0; i < len; i++)
    FUZZ_CHECK(aef_buf_append(&c->out, p + len - 1 - i, 1) == 0);
  return aef_rpc_child_end(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int in = fuzz_input_fd(data, size), out = fuzz_output_fd(), want = 0, rc;
  size_t off = 0, calls = 0, want_calls = 0, n, i;
  aef_buf expect;
  aef_rpc_child s;
  uint8_t *got;

  /* the model */
  aef_buf_init(&expect, SIZE_MAX);
  while (size - off >= 4) {
    uint32_t len = (uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16
                   | (uint32_t)data[off + 2] << 8 | data[off + 3];
    const uint8_t *p = data + off + 4;
    uint8_t h[AEF_RPC_HDR];

    if (size - off - 4 < len)
      break; /* partial: dropped at end-of-file */
    want_calls++;
    if (len && p[0] == 0xff) {
      want = STOP;
      break;
    }
    header(h, len);
    FUZZ_CHECK(aef_buf_append(&expect, h, sizeof h) == 0);
    for (i = 0; i < len; i++)
      FUZZ_CHECK(aef_buf_append(&expect, p + len - 1 - i, 1) == 0);
    off += 4 + (size_t)len;
  }

  aef_rpc_child_init(&s, in, out, AEF_RPC_HDR_SYNC, 0);
  rc = aef_rpc_sync_serve(&s, handler, &calls);
  FUZZ_CHECK(rc == want);
  FUZZ_CHECK(calls == want_calls);
  if (rc == 0)
    FUZZ_CHECK(s.in.buf.cap == 0); /* the stream ended: storage released */
  FUZZ_CHECK(aef_buf_size(&s.out) == 0); /* everything was written */

  fuzz_output(out, &got, &n);
  FUZZ_CHECK(n == aef_buf_size(&expect));
  FUZZ_CHECK(!n || memcmp(got, aef_buf_ptr(&expect), n) == 0);

  free(got);
  aef_buf_free(&expect);
  aef_rpc_child_free(&s);
  close(in);
  close(out);
  return 0;
}
