/* aef_rpc.c - RPC framing, the parent's request/response state, the
 * child endpoint and the synchronous child's loop. */
#include "aef_rpc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RLEN_DEFAULT__ (512 - 16)

/* Empty buffers larger than this are released by the trim functions. */
#define KEEP__ (64u * 1024u)

static uint32_t get32__(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32__(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* ------------------------------------------------------------------------ */
/* large buffers                                                             */

void aef_rpc_advise(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
  uintptr_t huge = 2u * 1024u * 1024u;
  uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
  uintptr_t e = ((uintptr_t)p + n) & ~(huge - 1);

  if (n >= AEF_RPC_HUGE && e > a)
    madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

int aef_rpc_reserve(aef_buf *b, size_t extra)
{
  uint8_t *data = b->data;
  size_t cap = b->cap;
  int rc;

  /* growing an empty buffer: nothing to copy, and fresh pages to advise */
  if (!aef_buf_size(b) && b->cap - b->len < extra && extra >= AEF_RPC_HUGE) {
    aef_buf_free(b);
    data = NULL;
  }
  rc = aef_buf_reserve(b, extra);
  if (!rc && (b->data != data || b->cap != cap))
    aef_rpc_advise(b->data, b->cap);
  return rc;
}

void aef_rpc_settle(aef_buf *b, size_t hi)
{
  if (!aef_buf_size(b) && b->cap > KEEP__ && hi < b->cap / 4)
    aef_buf_free(b);
}

/* ------------------------------------------------------------------------ */
/* frame reader                                                              */

void aef_rpc_reader_init(aef_rpc_reader *r, unsigned hdr, size_t rlen)
{
  aef_buf_init(&r->buf, SIZE_MAX);
  r->rlen = rlen ? rlen : RLEN_DEFAULT__;
  r->chunk = r->rlen;
  r->hi = 0;
  r->hdr = hdr;
}

/* octets of the frame at the front of the buffer (header included), once
 * its header is in; 0 while it is not */
static uint64_t frame_total__(const aef_rpc_reader *r)
{
  if (aef_buf_size(&r->buf) < r->hdr)
    return 0;
  return (uint64_t)r->hdr + get32__(aef_buf_ptr(&r->buf) + r->hdr - 4);
}

ssize_t aef_rpc_reader_fill(aef_rpc_reader *r, int fd)
{
  size_t size = aef_buf_size(&r->buf), want, room, max = r->buf.max;
  uint64_t total = frame_total__(r);
  ssize_t n;

  /* the original's rule: rlen - 128 < length (buffer) => rlen * 2 + 16 */
  if (r->rlen < size + 128 && r->rlen < SIZE_MAX / 4)
    r->rlen = r->rlen * 2 + 16;
  want = r->rlen > size ? r->rlen - size : 0;
  if (want < r->chunk)
    want = r->chunk;

  if (total > SIZE_MAX) {
    n = -EMSGSIZE;
    goto out;
  }
  /* A large frame still incomplete: the storage grows (geometrically)
   * only when less than a read's worth of room is left, never with what
   * the header announces, so a peer that lies about the length costs only
   * the octets it really sent; and it never reaches beyond the frame's
   * end. */
  if (total > KEEP__ && total > size) {
    /* (plain growth: realloc then moves the pages instead of copying them,
     * which huge-page advice would prevent) */
    r->buf.max = (size_t)total;
    n = aef_buf_reserve(&r->buf, total - size < r->chunk ? (size_t)(total - size) : r->chunk);
    r->buf.max = max;
  } else
    n = aef_rpc_reserve(&r->buf, want);
  if (n)
    goto out;

  room = r->buf.cap - r->buf.len;
  do
    n = read(fd, r->buf.data + r->buf.len, room);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    n = errno == EWOULDBLOCK ? -EAGAIN : -errno;
    goto out;
  }
  r->buf.len += (size_t)n;
  if ((size_t)n == room && r->chunk < AEF_RPC_CHUNK_MAX)
    r->chunk *= 2;

out:
  /* the stream ended: a partial frame can never complete, so its storage
   * goes at once (complete frames stay for aef_rpc_reader_next) */
  if (n <= 0 && n != -EAGAIN) {
    total = frame_total__(r);
    if (!total || total > aef_buf_size(&r->buf))
      aef_rpc_reader_free(r);
  }
  return n;
}

int aef_rpc_reader_next(aef_rpc_reader *r, uint32_t *id,
                        const uint8_t **payload, size_t *len)
{
  uint64_t total = frame_total__(r);
  const uint8_t *p = aef_buf_ptr(&r->buf);
  uint32_t n;

  if (!total || total > aef_buf_size(&r->buf))
    return 0;
  n = get32__(p + r->hdr - 4);

  *id = r->hdr == AEF_RPC_HDR ? get32__(p) : 0;
  *payload = p + r->hdr;
  *len = n;
  if (r->hi < r->hdr + (size_t)n)
    r->hi = r->hdr + (size_t)n;
  aef_buf_consume(&r->buf, r->hdr + (size_t)n); /* the bytes stay in place */
  return 1;
}

void aef_rpc_reader_trim(aef_rpc_reader *r)
{
  if (aef_buf_size(&r->buf))
    return; /* a partial frame: the next read completes it */
  aef_rpc_settle(&r->buf, r->hi);
  if (!r->buf.cap && r->chunk > KEEP__)
    r->chunk = KEEP__;
  r->hi = 0;
}

void aef_rpc_reader_free(aef_rpc_reader *r)
{
  aef_buf_free(&r->buf);
}

/* ------------------------------------------------------------------------ */
/* frame writer                                                              */

int aef_rpc_frame_begin(aef_buf *b, unsigned hdr, uint32_t id,
                        size_t reserve, size_t *mark)
{
  uint8_t h[AEF_RPC_HDR];
  int rc;

  if (reserve > SIZE_MAX - hdr)
    return -EMSGSIZE;
  rc = aef_rpc_reserve(b, hdr + reserve);
  if (rc)
    return rc;
  /* (a Sync request's 4 octets are the length alone) */
  aef_rpc_header(h, id, 0);
  *mark = aef_buf_size(b); /* content position: compaction keeps it */
  aef_buf_append(b, hdr == AEF_RPC_HDR ? h : h + 4, hdr); /* reserved */
  return 0;
}

int aef_rpc_frame_end(aef_buf *b, unsigned hdr, size_t mark)
{
  size_t len = aef_buf_size(b) - mark - hdr;

  if ((uint64_t)len > AEF_RPC_MAX) {
    aef_rpc_frame_abort(b, mark);
    return -E2BIG;
  }
  put32__(aef_buf_ptr(b) + mark + hdr - 4, (uint32_t)len);
  return 0;
}

void aef_rpc_header(uint8_t *hdr, uint32_t id, uint32_t len)
{
  put32__(hdr, id);
  put32__(hdr + 4, len);
}

void aef_rpc_frame_abort(aef_buf *b, size_t mark)
{
  b->len = b->off + mark;
}

ssize_t aef_rpc_buf_write(aef_buf *b, int fd)
{
  size_t size = aef_buf_size(b);
  ssize_t n;

  if (!size)
    return 0;
  do
    n = write(fd, aef_buf_ptr(b), size);
  while (n < 0 && errno == EINTR);

  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? (ssize_t)size : -errno;
  aef_buf_consume(b, (size_t)n);
  return (ssize_t)(size - (size_t)n);
}

int aef_rpc_buf_flush(aef_buf *b, int fd)
{
  while (aef_buf_size(b)) {
    ssize_t n = write(fd, aef_buf_ptr(b), aef_buf_size(b));

    if (n >= 0)
      aef_buf_consume(b, (size_t)n);
    else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      struct pollfd p = { fd, POLLOUT, 0 };

      if (poll(&p, 1, -1) < 0 && errno != EINTR)
        return -errno;
    } else if (errno != EINTR)
      return -errno;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* callbacks waiting in order (Sync)                                         */

static int fifo_push__(aef_rpc_fifo *f, void *v)
{
  if (f->n == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 16, i;
    void **nv;

    if (cap > SIZE_MAX / sizeof *nv)
      return -ENOMEM;
    nv = malloc(cap * sizeof *nv);
    if (!nv)
      return -ENOMEM;
    for (i = 0; i < f->n; i++)
      nv[i] = f->v[(f->head + i) % f->cap];
    free(f->v);
    f->v = nv;
    f->cap = cap;
    f->head = 0;
  }
  f->v[(f->head + f->n) % f->cap] = v;
  f->n++;
  return 0;
}

static void *fifo_shift__(aef_rpc_fifo *f)
{
  void *v = f->v[f->head];

  f->head = (f->head + 1) % f->cap;
  f->n--;
  return v;
}

/* ------------------------------------------------------------------------ */
/* callbacks waiting by id (Async): Robin Hood hashing on the id's low     */
/* bits. Ids are handed out in sequence, so the outstanding ones form a    */
/* window that mostly sits in its home slots: inserts, lookups and         */
/* (backward-shift) deletes touch one or two neighbouring slots.           */

static size_t home__(const aef_rpc_map *m, uint32_t id)
{
  return (size_t)id & m->mask;
}

/* how far the entry in slot i sits from its home slot */
static size_t dist__(const aef_rpc_map *m, size_t i)
{
  return (i - home__(m, m->key[i])) & m->mask;
}

/* slot of id, or (size_t)-1 */
static size_t find__(const aef_rpc_map *m, uint32_t id)
{
  size_t i, d;

  if (!m->key)
    return (size_t)-1;
  for (i = home__(m, id), d = 0; m->key[i] && dist__(m, i) >= d; i = (i + 1) & m->mask, d++)
    if (m->key[i] == id)
      return i;
  return (size_t)-1;
}

/* place id (not present; a free slot exists) */
static void place__(aef_rpc_map *m, uint32_t id, void *v)
{
  size_t i, d;

  for (i = home__(m, id), d = 0; m->key[i]; i = (i + 1) & m->mask, d++) {
    size_t e = dist__(m, i);

    if (e < d) { /* the richer entry moves on, the poorer one stays */
      uint32_t tk = m->key[i];
      void *tv = m->val[i];

      m->key[i] = id;
      m->val[i] = v;
      id = tk;
      v = tv;
      d = e;
    }
  }
  m->key[i] = id;
  m->val[i] = v;
}

static int map_has__(const aef_rpc_map *m, uint32_t id)
{
  return find__(m, id) != (size_t)-1;
}

static int map_grow__(aef_rpc_map *m)
{
  size_t cap = m->key ? (m->mask + 1) * 2 : 16, i;
  aef_rpc_map n;

  if (cap > SIZE_MAX / sizeof(void *))
    return -ENOMEM;
  n.key = calloc(cap, sizeof *n.key);
  n.val = malloc(cap * sizeof *n.val);
  if (!n.key || !n.val) {
    free(n.key);
    free(n.val);
    return -ENOMEM;
  }
  n.mask = cap - 1;
  n.n = m->n;
  for (i = 0; m->key && i <= m->mask; i++)
    if (m->key[i])
      place__(&n, m->key[i], m->val[i]);
  free(m->key);
  free(m->val);
  *m = n;
  return 0;
}

static int map_put__(aef_rpc_map *m, uint32_t id, void *v)
{
  if (!m->key || (m->n + 1) * 2 > m->mask + 1) {
    int rc = map_grow__(m);

    if (rc)
      return rc;
  }
  place__(m, id, v);
  m->n++;
  return 0;
}

/* remove id; returns 1 with *v set when it was there */
static int map_take__(aef_rpc_map *m, uint32_t id, void **v)
{
  size_t i = find__(m, id), j;

  if (i == (size_t)-1)
    return 0;
  *v = m->val[i];
  m->n--;

  /* backward shift: the entries behind move one slot closer to home */
  for (j = (i + 1) & m->mask; m->key[j] && dist__(m, j); i = j, j = (j + 1) & m->mask) {
    m->key[i] = m->key[j];
    m->val[i] = m->val[j];
  }
  m->key[i] = 0;
  return 1;
}

/* ------------------------------------------------------------------------ */
/* parent state                                                              */

void aef_rpc_init(aef_rpc *r, int async, size_t rlen)
{
  memset(r, 0, sizeof *r);
  r->fd = -1;
  r->async = !!async;
  aef_rpc_reader_init(&r->in, AEF_RPC_HDR, rlen);
  aef_buf_init(&r->out, SIZE_MAX);
}

void aef_rpc_free(aef_rpc *r, void (*drop)(void *ctx, void *cb), void *ctx)
{
  size_t i;

  while (r->fifo.n)
    drop(ctx, fifo_shift__(&r->fifo));
  for (i = 0; r->map.key && i <= r->map.mask; i++)
    if (r->map.key[i])
      drop(ctx, r->map.val[i]);
  free(r->fifo.v);
  free(r->map.key);
  free(r->map.val);
  aef_rpc_reader_free(&r->in);
  aef_buf_free(&r->out);
  aef_rpc_init(r, r->async, 0);
}

void aef_rpc_connect(aef_rpc *r, int fd)
{
  r->fd = fd;
}

int aef_rpc_begin(aef_rpc *r, size_t size)
{
  /* the id is assigned by aef_rpc_end, once the request is complete */
  return aef_rpc_frame_begin(&r->out, r->async ? AEF_RPC_HDR : AEF_RPC_HDR_SYNC,
                             0, size, &r->mark);
}

int aef_rpc_end(aef_rpc *r, void *cb)
{
  unsigned hdr = r->async ? AEF_RPC_HDR : AEF_RPC_HDR_SYNC;
  int rc = aef_rpc_frame_end(&r->out, hdr, r->mark);

  if (rc)
    return rc;

  if (!r->async)
    rc = fifo_push__(&r->fifo, cb);
  else {
    uint32_t id = r->id;

    /* previous + 1, wrapping to 1, skipping ids still waiting; a free one
     * exists unless 2**32 - 1 requests are outstanding */
    if (r->map.n >= UINT32_MAX)
      rc = -ENOMEM;
    else {
      do
        id = id == UINT32_MAX ? 1 : id + 1;
      while (map_has__(&r->map, id));
      rc = map_put__(&r->map, id, cb);
      if (!rc) {
        r->id = id;
        put32__(aef_buf_ptr(&r->out) + r->mark, id);
      }
    }
  }

  if (rc)
    aef_rpc_frame_abort(&r->out, r->mark);
  return rc;
}

void aef_rpc_abort(aef_rpc *r)
{
  aef_rpc_frame_abort(&r->out, r->mark);
}

/* the connection is over: requests not written yet never will be */
static void drop_output__(aef_rpc *r)
{
  aef_buf_free(&r->out);
  r->out_hi = 0;
}

static void halfclose__(aef_rpc *r)
{
  if (!r->closed) {
    r->closed = 1;
    shutdown(r->fd, SHUT_WR);
  }
}

/* One write of b to fd, tracking in *hi the most octets that waited; once
 * drained, a large buffer that this round used little is released. The
 * octets still pending, or -errno. */
static ssize_t write_settle__(aef_buf *b, int fd, size_t *hi)
{
  ssize_t left;

  if (!aef_buf_size(b))
    return 0;
  if (*hi < aef_buf_size(b))
    *hi = aef_buf_size(b);
  left = aef_rpc_buf_write(b, fd);
  if (left == 0) {
    aef_rpc_settle(b, *hi);
    *hi = 0;
  }
  return left;
}

ssize_t aef_rpc_write(aef_rpc *r)
{
  ssize_t left;

  if (r->fd < 0)
    return (ssize_t)aef_buf_size(&r->out);
  left = write_settle__(&r->out, r->fd, &r->out_hi);
  if (left == 0 && r->shutdown)
    halfclose__(r);
  else if (left < 0)
    drop_output__(r);
  return left;
}

void aef_rpc_shutdown(aef_rpc *r, int now)
{
  r->shutdown = 1;
  if (now && r->fd >= 0)
    halfclose__(r);
}

ssize_t aef_rpc_read(aef_rpc *r)
{
  ssize_t n = aef_rpc_reader_fill(&r->in, r->fd);

  if (n <= 0 && n != -EAGAIN)
    drop_output__(r);
  return n;
}

int aef_rpc_next(aef_rpc *r, const uint8_t **payload, size_t *len, void **cb)
{
  uint32_t id;

  if (!aef_rpc_reader_next(&r->in, &id, payload, len))
    return AEF_RPC_NONE;
  if (!id)
    return AEF_RPC_EVENT;
  if (r->fifo.n) {
    *cb = fifo_shift__(&r->fifo);
    return AEF_RPC_RESULT;
  }
  if (map_take__(&r->map, id, cb))
    return AEF_RPC_RESULT;
  return AEF_RPC_UNEXPECTED;
}

size_t aef_rpc_outstanding(const aef_rpc *r)
{
  return r->fifo.n + r->map.n;
}

void aef_rpc_trim(aef_rpc *r)
{
  aef_rpc_reader_trim(&r->in);
}

/* ------------------------------------------------------------------------ */
/* child endpoint                                                            */

static uint64_t now__(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void aef_rpc_child_init(aef_rpc_child *c, int rfd, int wfd, unsigned hdr, size_t rlen)
{
  memset(c, 0, sizeof *c);
  c->rfd = rfd;
  c->wfd = wfd;
  aef_rpc_reader_init(&c->in, hdr, rlen);
  aef_buf_init(&c->out, SIZE_MAX);
}

ssize_t aef_rpc_child_read(aef_rpc_child *c)
{
  return aef_rpc_reader_fill(&c->in, c->rfd);
}

int aef_rpc_child_next(aef_rpc_child *c, uint32_t *id, const uint8_t **payload, size_t *len)
{
  return aef_rpc_reader_next(&c->in, id, payload, len);
}

void aef_rpc_child_trim(aef_rpc_child *c)
{
  aef_rpc_reader_trim(&c->in);
}

int aef_rpc_child_begin(aef_rpc_child *c, uint32_t id, size_t size)
{
  return aef_rpc_frame_begin(&c->out, AEF_RPC_HDR, id, size, &c->mark);
}

int aef_rpc_child_end(aef_rpc_child *c)
{
  return aef_rpc_frame_end(&c->out, AEF_RPC_HDR, c->mark);
}

ssize_t aef_rpc_child_write(aef_rpc_child *c)
{
  return write_settle__(&c->out, c->wfd, &c->out_hi);
}

int aef_rpc_child_flush(aef_rpc_child *c)
{
  int rc;

  if (!aef_buf_size(&c->out))
    return 0;
  if (c->out_hi < aef_buf_size(&c->out))
    c->out_hi = aef_buf_size(&c->out);
  rc = aef_rpc_buf_flush(&c->out, c->wfd);
  aef_buf_consume(&c->out, aef_buf_size(&c->out)); /* after an error */
  aef_rpc_settle(&c->out, c->out_hi);
  c->out_hi = 0;
  c->since = 0;
  return rc;
}

int aef_rpc_child_writev(aef_rpc_child *c, const struct iovec *iov, int n)
{
  struct iovec part[64];
  int rc = aef_rpc_child_flush(c);

  while (!rc && n > 0) {
    int k = n < 64 ? n : 64, i;
    ssize_t w;

    memcpy(part, iov, (size_t)k * sizeof *part);
    do
      w = writev(c->wfd, part, k);
    while (w < 0 && errno == EINTR);
    if (w < 0)
      return -errno;

    /* skip what was written; a partial piece goes on from where it ended */
    for (i = 0; i < k && (size_t)w >= part[i].iov_len; i++)
      w -= (ssize_t)part[i].iov_len;
    iov += i;
    n -= i;
    if (n > 0 && w > 0) {
      struct iovec rest = { (char *)iov[0].iov_base + w, iov[0].iov_len - (size_t)w };

      rc = aef_write_full(c->wfd, rest.iov_base, rest.iov_len);
      iov++;
      n--;
    }
  }
  return rc;
}

void aef_rpc_child_free(aef_rpc_child *c)
{
  aef_rpc_reader_free(&c->in);
  aef_buf_free(&c->out);
}

/* ------------------------------------------------------------------------ */
/* synchronous child loop                                                    */

/* must the queued responses go out before the next request is handled? */
static int due__(const aef_rpc_child *s)
{
  return aef_buf_size(&s->out)
         && (s->took >= AEF_RPC_SYNC_FAST
             || aef_buf_size(&s->out) >= AEF_RPC_CHUNK_MAX
             || now__() - s->since >= AEF_RPC_SYNC_AGE);
}

int aef_rpc_sync_serve(aef_rpc_child *s, aef_rpc_handler h, void *ctx)
{
  for (;;) {
    const uint8_t *p;
    size_t len;
    uint32_t id;
    ssize_t n;
    int rc;

    while (aef_rpc_child_next(s, &id, &p, &len)) {
      uint64_t t0;

      if (due__(s) && (rc = aef_rpc_child_flush(s)))
        return rc;

      t0 = now__();
      rc = h(ctx, p, len, s);
      if (rc) {
        aef_rpc_child_flush(s); /* what was answered before still counts */
        return rc;
      }
      s->took = now__() - t0;
      if (!s->since)
        s->since = t0 + s->took;
    }

    /* nothing left to handle: everything goes out before we block */
    if ((rc = aef_rpc_child_flush(s)))
      return rc;
    aef_rpc_child_trim(s);

    n = aef_rpc_child_read(s);
    if (n == -ENOMEM || n == -EMSGSIZE)
      return (int)n; /* a request we cannot hold */
    if (n <= 0)
      return 0; /* end-of-file or read error: the parent is done */
  }
}
