/* libFuzzer harness for the ConnectionUnix frame decoder
 * (aef_svc_frame_next), checked against a byte-by-byte reference model and
 * by re-encoding what it decoded (aef_svc_frame_put). The first input byte
 * chooses the size of the chunks the stream arrives in. */
#include "../aef_svc.h"

#include <stdlib.h>
#include <string.h>

#define MAX__ 4096u

/* the model: frames are [len32 big-endian][len bytes]; stop at the first
 * incomplete frame or one announcing more than MAX__ */
static size_t model__(const uint8_t *p, size_t n, size_t *lens, size_t *count, int *too_large)
{
  size_t off = 0;

  *count = 0;
  *too_large = 0;
  while (n - off >= 4) {
    size_t len = ((size_t)p[off] << 24) | ((size_t)p[off + 1] << 16) | ((size_t)p[off + 2] << 8) | p[off + 3];
    if (len > MAX__) {
      *too_large = 1;
      break;
    }
    if (n - off - 4 < len)
      break;
    lens[(*count)++] = len;
    off += 4 + len;
  }
  return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t lens[2048], count, used = 0, fed = 0, k = 0, chunk, plen;
  int too_large, r = 0;
  size_t want;
  aef_buf in, out;

  if (size < 1 || size > 8192)
    return 0;
  chunk = (size_t)data[0] % 64 + 1;
  data++;
  size--;
  want = model__(data, size, lens, &count, &too_large);

  /* decode incrementally, as bytes arrive */
  aef_buf_init(&in, 1u << 20);
  aef_buf_init(&out, 1u << 20);
  while (fed < size || r == 1) {
    if (r != 1 && fed < size) {
      size_t c = size - fed < chunk ? size - fed : chunk;
      if (aef_buf_append(&in, data + fed, c))
        abort();
      fed += c;
    }
    r = aef_svc_frame_next(aef_buf_ptr(&in), aef_buf_size(&in), MAX__, &plen);
    if (r < 0)
      break;
    if (r == 1) {
      if (k >= count || plen != lens[k])
        abort();                                /* a frame the model does not have */
      if (aef_svc_frame_put(&out, aef_buf_ptr(&in) + 4, plen))
        abort();
      aef_buf_consume(&in, 4 + plen);
      used += 4 + plen;
      k++;
    }
  }
  if (k != count || used != want)
    abort();                                    /* missed frames */
  if ((r < 0) != too_large)
    abort();                                    /* disagreement on the bound */
  if (aef_buf_size(&out) != used || (used && memcmp(aef_buf_ptr(&out), data, used)))
    abort();                                    /* re-encoding differs */
  aef_buf_free(&in);
  aef_buf_free(&out);
  return 0;
}
