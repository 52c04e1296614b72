/* fuzz_codec.c - the Serve command stream and BER string lists.
 *
 * The input is used twice:
 *   - as a string list (perl's "(w/a*)*"), decoded with aef_strlist_get
 *     and compared string by string with a reference decoder written
 *     here; every decoded list is encoded again with aef_strlist_put and
 *     must decode to the same strings;
 *   - as a Serve command stream ("a L/a*": letter, native 32-bit length,
 *     payload), read from a descriptor with aef_serve_read and compared
 *     frame by frame with a reference parser; the payload's storage must
 *     stay in proportion to the octets that came.
 */
#include "aef.h"
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* reference: one BER integer, perl's unpack "w" (values beyond 64 bits are
 * an error, leading 0x80 groups are allowed); 1, 0 (truncated) or -1 */
static int ref_ber(const uint8_t *p, size_t n, size_t *used, uint64_t *v)
{
  uint64_t acc = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    if (acc >> 57)
      return -1;
    acc = acc * 128 + (p[i] & 0x7f);
    if (p[i] < 0x80) {
      *used = i + 1;
      *v = acc;
      return 1;
    }
  }
  return 0;
}

static void check_strlist(const uint8_t *data, size_t size)
{
  const uint8_t *p = data, *end = size ? data + size : data, *s;
  size_t off = 0, len, count = 0, i;
  aef_buf again;
  int rc;

  aef_buf_init(&again, SIZE_MAX);
  for (;;) {
    size_t used = 0;
    uint64_t v = 0;
    int want;

    /* the model's verdict for the string at off */
    if (off == size)
      want = 0;
    else if (ref_ber(data + off, size - off, &used, &v) != 1 || v > size - off - used)
      want = -EBADMSG;
    else
      want = 1;

    rc = aef_strlist_get(&p, end, &s, &len);
    FUZZ_CHECK(rc == want);
    if (rc != 1) {
      FUZZ_CHECK(p == data + off); /* unchanged on failure and at the end */
      break;
    }
    FUZZ_CHECK(len == v && s == data + off + used);
    off += used + (size_t)v;
    FUZZ_CHECK(p == data + off);
    FUZZ_CHECK(aef_strlist_put(&again, s, len) == 0);
    count++;
  }

  /* what was decoded, encoded again (canonically), decodes the same */
  p = aef_buf_ptr(&again);
  end = aef_buf_size(&again) ? p + aef_buf_size(&again) : p; /* (no NULL + 0) */
  s = NULL;
  for (i = 0, off = 0; i < count; i++) {
    const uint8_t *s2;
    size_t used = 0, len2;
    uint64_t v = 0;

    FUZZ_CHECK(ref_ber(data + off, size - off, &used, &v) == 1);
    FUZZ_CHECK(aef_strlist_get(&p, end, &s2, &len2) == 1);
    FUZZ_CHECK(len2 == v && (!len2 || memcmp(s2, data + off + used, len2) == 0));
    off += used + (size_t)v;
  }
  FUZZ_CHECK(aef_strlist_get(&p, end, &s, &len) == 0);
  aef_buf_free(&again);
}

static void check_serve(const uint8_t *data, size_t size)
{
  int fd = fuzz_input_fd(data, size);
  size_t off = 0;
  aef_buf payload;

  aef_buf_init(&payload, SIZE_MAX);
  for (;;) {
    char letter = 0;
    uint32_t len = 0;
    int want, rc;

    if (size - off < 5)
      want = 0;
    else {
      memcpy(&len, data + off + 1, 4);
      if (len > AEF_SERVE_MAX)
        want = -EMSGSIZE;
      else
        want = size - off - 5 >= len ? 1 : 0;
    }

    rc = aef_serve_read(fd, &letter, &payload);
    FUZZ_CHECK(rc == want);
    /* room in proportion to what came, whatever the header said */
    FUZZ_CHECK(payload.cap <= 4 * (size - off) + 128 * 1024);
    if (rc != 1)
      break;
    FUZZ_CHECK(letter == (char)data[off]);
    FUZZ_CHECK(aef_buf_size(&payload) == len);
    FUZZ_CHECK(!len || memcmp(aef_buf_ptr(&payload), data + off + 5, len) == 0);
    off += 5 + (size_t)len;
  }

  /* and the writer produces what the reader takes */
  if (size > 0) {
    aef_buf b;

    aef_buf_init(&b, SIZE_MAX);
    FUZZ_CHECK(aef_serve_put(&b, (char)data[0], data + 1, size - 1) == 0);
    FUZZ_CHECK(aef_buf_size(&b) == size + 4);
    FUZZ_CHECK(aef_buf_ptr(&b)[0] == data[0]);
    FUZZ_CHECK(memcmp(aef_buf_ptr(&b) + 5, data + 1, size - 1) == 0);
    aef_buf_free(&b);
  }
  aef_buf_free(&payload);
  close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  check_strlist(data, size);
  check_serve(data, size);
  return 0;
}
