/* aef_codec.c - BER integers, string lists and Serve command frames. */
#include "aef.h"

#include <errno.h>
#include <string.h>

/* aef_serve_read asks for at most this much more than it holds */
#define SERVE_STEP__ (64u * 1024u)

size_t aef_ber_size(uint64_t v)
{
  size_t n = 1;

  while (v >>= 7)
    n++;
  return n;
}

int aef_ber_put(aef_buf *b, uint64_t v)
{
  size_t n = aef_ber_size(v), i;
  uint8_t *p;
  int r = aef_buf_reserve(b, n);

  if (r)
    return r;
  p = b->data + b->len;
  /* Fill from the least significant group backwards. */
  for (i = n; i-- > 0; v >>= 7)
    p[i] = (uint8_t)((v & 0x7f) | (i == n - 1 ? 0 : 0x80));
  b->len += n;
  return 0;
}

int aef_ber_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
  const uint8_t *q;
  uint64_t acc = 0;

  /* Like perl's unpack "w", leading 0x80 groups are accepted: overflow is
   * about the value, not the number of bytes. */
  for (q = *p; q < end; q++) {
    if (acc > UINT64_MAX >> 7)
      return -EOVERFLOW;
    acc = acc << 7 | (*q & 0x7f);
    if (!(*q & 0x80)) {
      *v = acc;
      *p = q + 1;
      return 1;
    }
  }
  return 0;
}

int aef_strlist_put(aef_buf *b, const void *s, size_t len)
{
  int r;

  /* Reserve both parts first so that a failure leaves b unchanged. */
  if (len > SIZE_MAX - 10)
    return -EMSGSIZE;
  r = aef_buf_reserve(b, aef_ber_size(len) + len);
  if (r)
    return r;
  aef_ber_put(b, len);
  aef_buf_append(b, s, len);
  return 0;
}

int aef_strlist_get(const uint8_t **p, const uint8_t *end,
                    const uint8_t **s, size_t *len)
{
  const uint8_t *q = *p;
  uint64_t n;

  if (q == end)
    return 0;
  if (aef_ber_get(&q, end, &n) != 1 || n > (uint64_t)(end - q))
    return -EBADMSG;
  *s = q;
  *len = (size_t)n;
  *p = q + n;
  return 1;
}

int aef_serve_put(aef_buf *b, char letter, const void *payload, size_t len)
{
  uint32_t len32 = (uint32_t)len;
  uint8_t hdr[5];
  int r;

  if ((uint64_t)len > UINT32_MAX)
    return -E2BIG;
  if (len > SIZE_MAX - sizeof hdr)
    return -EMSGSIZE;
  r = aef_buf_reserve(b, sizeof hdr + len);
  if (r)
    return r;
  hdr[0] = (uint8_t)letter;
  memcpy(hdr + 1, &len32, 4);
  aef_buf_append(b, hdr, sizeof hdr);
  aef_buf_append(b, payload, len);
  return 0;
}

int aef_serve_read(int fd, char *letter, aef_buf *payload)
{
  uint8_t hdr[5];
  uint32_t len;
  int r;

  r = aef_read_full(fd, hdr, sizeof hdr);
  if (r <= 0)
    return r;
  memcpy(&len, hdr + 1, 4);
  if (len > AEF_SERVE_MAX)
    return -EMSGSIZE;

  /* the storage grows with the octets that came (doubling at most), not
   * with the announced length */
  aef_buf_consume(payload, aef_buf_size(payload)); /* now off == len == 0 */
  while (payload->len < len) {
    size_t step = len - payload->len;

    if (step > SERVE_STEP__ && step > payload->len)
      step = payload->len > SERVE_STEP__ ? payload->len : SERVE_STEP__;
    r = aef_buf_reserve(payload, step);
    if (!r)
      r = aef_read_full(fd, payload->data + payload->len, step);
    if (r <= 0) {
      aef_buf_consume(payload, aef_buf_size(payload));
      return r;
    }
    payload->len += step;
  }
  *letter = (char)hdr[0];
  return 1;
}
