/* fuzz_rpc_reader.c - the RPC frame reader, both header sizes, input that
 * arrives in chunks.
 *
 * Input: one octet of options (bit 0: 8-octet "NN/a*" headers, else the
 * Sync requests' 4-octet "N/a*"; bits 1-7 pick the initial read size),
 * two octets seeding the chunk sizes (an odd seed turns split reading on
 * for payloads of 16 octets or more that are one string of the string
 * serialiser: then prefix and body together must be the payload, and the
 * body's storage stays within its bound too), then the stream. The stream is
 * written to a non-blocking pipe in chunks of 1..4096 octets; after each
 * chunk the reader reads until -EAGAIN and hands out its complete frames,
 * which must be exactly the reference parser's frames, in order. Then the
 * writer closes: end-of-file, no further frame, and (the stream ended in
 * a partial frame or nothing) no storage left. After every read the
 * storage must stay within the documented bound of the most octets ever
 * buffered: a header that announces up to 4 GiB must not make it reserve
 * more.
 */
#include "aef_rpc.h"
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static uint32_t get32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* split function: one string of pack "(w/a*)*" splits after its length */
static size_t split1(void *ctx, const uint8_t *p, size_t avail, size_t len)
{
  const uint8_t *q = p;
  uint64_t v;

  (void)ctx;
  if (aef_ber_get(&q, p + avail, &v) == 1 && v == len - (size_t)(q - p))
    return (size_t)(q - p);
  return AEF_RPC_SPLIT_NONE;
}

/* reference: the frame starting at off, if complete (1) */
static int ref_frame(const uint8_t *s, size_t n, size_t off, unsigned hdr,
                     uint32_t *id, size_t *len)
{
  if (n - off < hdr)
    return 0;
  *len = get32(s + off + hdr - 4);
  *id = hdr == AEF_RPC_HDR ? get32(s + off) : 0;
  return n - off - hdr >= *len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  unsigned hdr, seed;
  size_t rlen, off = 0, sent = 0, rd = 0, most = 0, bmost = 0, n;
  const uint8_t *s;
  aef_rpc_reader r;
  int pfd[2];
  ssize_t got;

  if (size < 3)
    return 0;
  hdr = data[0] & 1 ? AEF_RPC_HDR : AEF_RPC_HDR_SYNC;
  rlen = (size_t)(data[0] >> 1) * 8; /* 0: the default */
  seed = (unsigned)data[1] << 8 | data[2];
  s = data + 3;
  n = size - 3;

  FUZZ_CHECK(pipe2(pfd, O_CLOEXEC | O_NONBLOCK) == 0);
  aef_rpc_reader_init(&r, hdr, rlen);
  if (seed & 1)
    aef_rpc_reader_split(&r, split1, NULL, 16);

  for (;;) {
    /* the next chunk (none once all was sent: the writer closes) */
    if (sent < n) {
      size_t k;
      ssize_t w;

      seed = seed * 1103515245u + 12345u;
      k = 1 + (seed >> 8) % 4096;
      if (k > n - sent)
        k = n - sent;
      w = write(pfd[1], s + sent, k);
      FUZZ_CHECK(w > 0);
      sent += (size_t)w;
    } else if (pfd[1] >= 0) {
      close(pfd[1]);
      pfd[1] = -1;
    }

    while ((got = aef_rpc_reader_fill(&r, pfd[0])) > 0) {
      const uint8_t *p;
      uint32_t id, mid;
      size_t len, mlen;

      rd += (size_t)got;
      if (most < aef_buf_size(&r.buf))
        most = aef_buf_size(&r.buf);
      /* storage from what came (the most ever buffered), not announced */
      FUZZ_CHECK(r.buf.cap <= 4 * most + 2 * (r.rlen > r.chunk ? r.rlen : r.chunk) + 64);
      if (r.body_len) {
        if (bmost < aef_buf_size(&r.body))
          bmost = aef_buf_size(&r.body);
        FUZZ_CHECK(r.body.cap <= r.body_len + 2);
        FUZZ_CHECK(r.body.cap <= 4 * bmost + 2 * (r.rlen > r.chunk ? r.rlen : r.chunk) + 64);
      }
      while (aef_rpc_reader_next(&r, &id, &p, &len)) {
        const uint8_t *b;
        size_t blen = 0;

        FUZZ_CHECK(ref_frame(s, rd, off, hdr, &mid, &mlen));
        if (!aef_rpc_reader_body(&r, &b, &blen))
          blen = 0;
        FUZZ_CHECK(id == mid && len + blen == mlen);
        FUZZ_CHECK(!len || memcmp(p, s + off + hdr, len) == 0);
        FUZZ_CHECK(!blen || memcmp(b, s + off + hdr + len, blen) == 0);
        off += hdr + len + blen;
        bmost = 0;
      }
      /* everything not handed out is a frame still incomplete */
      FUZZ_CHECK(aef_buf_size(&r.buf) + aef_buf_size(&r.body) == rd - off);
      FUZZ_CHECK(!ref_frame(s, rd, off, hdr, &mid, &mlen));
    }
    if (got == 0)
      break;
    FUZZ_CHECK(got == -EAGAIN);
  }

  /* end-of-file: nothing more, and a partial frame's storage is gone */
  {
    const uint8_t *p;
    uint32_t id, mid;
    size_t len, mlen;

    FUZZ_CHECK(sent == n && rd == n);
    FUZZ_CHECK(!aef_rpc_reader_next(&r, &id, &p, &len));
    FUZZ_CHECK(!ref_frame(s, n, off, hdr, &mid, &mlen));
    FUZZ_CHECK(r.buf.cap == 0 && r.body.cap == 0);
  }

  aef_rpc_reader_free(&r);
  close(pfd[0]);
  return 0;
}
