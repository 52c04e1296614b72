/* aef_rpc.c - RPC framing, the parent's request/response state, the
 * child endpoint and the synchronous child's loop. */
#include "aef_rpc.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
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
  r->split = NULL;
  r->ctx = NULL;
  r->split_min = SIZE_MAX;
  r->asked = 0;
  aef_buf_init(&r->body, SIZE_MAX);
  r->body_len = r->prefix = 0;
  r->given = 0;
}

void aef_rpc_reader_split(aef_rpc_reader *r, aef_rpc_split split, void *ctx, size_t min)
{
  r->split = split;
  r->ctx = ctx;
  r->split_min = !split ? SIZE_MAX : min < AEF_RPC_SPLIT_PEEK ? AEF_RPC_SPLIT_PEEK : min;
}

/* octets of the frame at the front that the buffer holds or will hold
 * (header included: with a body, the header and the prefix), once its
 * header is in; 0 while it is not */
static uint64_t frame_total__(const aef_rpc_reader *r)
{
  if (aef_buf_size(&r->buf) < r->hdr)
    return 0;
  if (r->body_len)
    return (uint64_t)r->hdr + r->prefix;
  return (uint64_t)r->hdr + get32__(aef_buf_ptr(&r->buf) + r->hdr - 4);
}

/* is the frame at the front complete (body included)? */
static int front_complete__(const aef_rpc_reader *r)
{
  uint64_t total = frame_total__(r);

  return total && total <= aef_buf_size(&r->buf) && aef_buf_size(&r->body) == r->body_len;
}

/* the body handed out with the last frame is done with (its storage stays
 * for the next one) */
static void body_done__(aef_rpc_reader *r)
{
  if (r->given) {
    r->given = 0;
    r->body.off = r->body.len = 0;
  }
}

/* Room for extra more body octets. The storage of a large body is advised
 * to use huge pages, from its first octets on and as a whole (malloc's
 * own mapping, when it is one: advice on part of a mapping would split it,
 * and realloc could then no longer move its pages instead of copying
 * them). Its capacity is rounded up so that malloc maps whole huge pages
 * (glibc keeps 32 octets of a mapping for itself): the kernel then places
 * the mapping, also when realloc moves it, on a huge page boundary, and
 * the pages move whole instead of being split into small ones. */
static int body_reserve__(aef_rpc_reader *r, size_t extra)
{
  uint8_t *data = r->body.data;
  size_t cap = r->body.cap, content = aef_buf_size(&r->body);
  int rc;

#if defined(MADV_HUGEPAGE) && defined(__GLIBC__)
  if (r->body.max >= AEF_RPC_HUGE && cap - r->body.len < extra && content + extra <= r->body.max) {
    size_t huge = 2u * 1024u * 1024u, want = content + extra;

    if (want < 2 * cap)
      want = 2 * cap;
    if (want <= SIZE_MAX - huge - 32)
      want = ((want + 32 + huge - 1) & ~(huge - 1)) - 32;
    if (want > r->body.max)
      want = r->body.max;
    extra = want - content;
  }
#endif
  rc = aef_buf_reserve(&r->body, extra);

#if defined(MADV_HUGEPAGE) && defined(__GLIBC__)
  if (!rc && (r->body.data != data || r->body.cap != cap) && r->body.max >= AEF_RPC_HUGE) {
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)r->body.data & ~(pg - 1);
    uintptr_t e = ((uintptr_t)r->body.data + malloc_usable_size(r->body.data) + pg - 1) & ~(pg - 1);

    madvise((void *)a, e - a, MADV_HUGEPAGE);
  }
#else
  (void)data;
  (void)cap;
#endif
  return rc;
}

/* One read into the body of the frame at the front; its storage grows
 * with what came (by at most a read's worth beyond it), up to its end. */
static ssize_t body_fill__(aef_rpc_reader *r, int fd)
{
  size_t have = aef_buf_size(&r->body), rest = r->body_len - have, room;
  size_t step = have > r->chunk ? have : r->chunk;
  ssize_t n;

  r->body.max = r->body_len + 2;
  n = body_reserve__(r, step < rest ? step : rest);
  if (n)
    return n;
  room = r->body.cap - r->body.len;
  if (room > rest)
    room = rest;
  do
    n = read(fd, r->body.data + r->body.len, room);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  r->body.len += (size_t)n;
  if ((size_t)n == room && r->chunk < AEF_RPC_CHUNK_MAX)
    r->chunk *= 2;
  return n;
}

/* After a read into the buffer: ask split about a large frame at the
 * front (once), and move what came of its body to the body's storage. */
static void split_try__(aef_rpc_reader *r)
{
  size_t size = aef_buf_size(&r->buf), len, k, move;
  uint8_t *p;

  if (r->asked || r->body_len || size < r->hdr + AEF_RPC_SPLIT_PEEK)
    return;
  p = aef_buf_ptr(&r->buf);
  len = get32__(p + r->hdr - 4);
  if (len < r->split_min || size - r->hdr >= len)
    return; /* small, or complete already */

  r->asked = 1;
  k = r->split(r->ctx, p + r->hdr, size - r->hdr, len);
  if (k == AEF_RPC_SPLIT_NONE || k > size - r->hdr)
    return;

  move = size - r->hdr - k; /* all of it this frame's: it is incomplete */
  if (r->body.cap / 2 > len - k + 2)
    aef_buf_free(&r->body); /* storage given back, but far too large */
  r->body.max = len - k + 2;
  if (body_reserve__(r, move > r->chunk ? move : r->chunk < len - k ? r->chunk : len - k))
    return; /* then the frame is read the ordinary way */
  memcpy(r->body.data + r->body.len, p + r->hdr + k, move);
  r->body.len += move;
  r->buf.len -= move;
  r->body_len = len - k;
  r->prefix = k;
}

ssize_t aef_rpc_reader_fill(aef_rpc_reader *r, int fd)
{
  size_t size = aef_buf_size(&r->buf), want, room, max = r->buf.max;
  uint64_t total = frame_total__(r);
  ssize_t n;

  body_done__(r);
  if (r->body_len && aef_buf_size(&r->body) < r->body_len) {
    n = body_fill__(r, fd);
    goto out;
  }

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
  if (r->split)
    split_try__(r);

out:
  /* the stream ended: a partial frame can never complete, so its storage
   * goes at once (complete frames stay for aef_rpc_reader_next) */
  if (n <= 0 && n != -EAGAIN && !front_complete__(r))
    aef_rpc_reader_free(r);
  return n;
}

int aef_rpc_reader_next(aef_rpc_reader *r, uint32_t *id,
                        const uint8_t **payload, size_t *len)
{
  const uint8_t *p = aef_buf_ptr(&r->buf);
  size_t n;

  body_done__(r);
  if (!front_complete__(r))
    return 0;
  n = r->body_len ? r->prefix : get32__(p + r->hdr - 4);

  *id = r->hdr == AEF_RPC_HDR ? get32__(p) : 0;
  *payload = p + r->hdr;
  *len = n;
  if (r->hi < r->hdr + n + r->body_len)
    r->hi = r->hdr + n + r->body_len;
  if (r->body_len) {
    r->given = 1;
    r->body_len = r->prefix = 0;
  }
  r->asked = 0;
  aef_buf_consume(&r->buf, r->hdr + n); /* the bytes stay in place */
  return 1;
}

void aef_rpc_reader_trim(aef_rpc_reader *r)
{
  if (aef_buf_size(&r->buf))
    return; /* a partial frame: the next read completes it */
  body_done__(r);
  if (r->hi < r->split_min)
    aef_buf_free(&r->body);
  aef_rpc_settle(&r->buf, r->hi);
  if (!r->buf.cap && r->chunk > KEEP__)
    r->chunk = KEEP__;
  r->hi = 0;
}

void aef_rpc_reader_free(aef_rpc_reader *r)
{
  aef_buf_free(&r->buf);
  aef_buf_free(&r->body);
  r->body_len = r->prefix = 0;
  r->given = r->asked = 0;
}

int aef_rpc_reader_body(const aef_rpc_reader *r, const uint8_t **p, size_t *len)
{
  if (!r->given)
    return 0;
  *p = aef_buf_ptr(&r->body);
  *len = aef_buf_size(&r->body);
  return 1;
}

int aef_rpc_reader_take(aef_rpc_reader *r, uint8_t **p, size_t *len, size_t *cap)
{
  if (!r->given || aef_buf_reserve(&r->body, 2))
    return 0;
  *p = r->body.data; /* nothing was consumed: the content starts there */
  *len = aef_buf_size(&r->body);
  *cap = r->body.cap;
  aef_buf_init(&r->body, SIZE_MAX);
  r->given = 0;
  return 1;
}

void aef_rpc_reader_give(aef_rpc_reader *r, void *p, size_t cap)
{
  if (r->body_len || r->given) {
    free(p);
    return;
  }
  aef_buf_free(&r->body);
  if (p) {
    r->body.data = p;
    r->body.cap = cap;
  }
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
  c->fast = AEF_RPC_SYNC_FAST;
  c->age = AEF_RPC_SYNC_AGE;
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
         && (s->took >= s->fast
             || aef_buf_size(&s->out) >= AEF_RPC_CHUNK_MAX
             || now__() - s->since >= s->age);
}

/* Wait until rfd is readable, at most timeout ms (poll(2)'s): 1 when it
 * is, else 0 (errors included: the read that follows reports them). The
 * loop waits here, not in read(2): a reader blocked in read(2) on a
 * socket is woken (for nothing) each time the peer reads what we wrote. */
static int readable__(const aef_rpc_child *s, int timeout)
{
  struct pollfd p = { s->rfd, POLLIN, 0 };

  return poll(&p, 1, timeout) == 1;
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

    /* nothing left to handle: while the answers may still wait, requests
     * that arrived meanwhile are handled first, so that their answers
     * leave together (a parent that sent them one by one then gets them
     * in one read, and answers them in one write); everything goes out
     * before we block */
    if (!aef_buf_size(&s->out) || due__(s) || !readable__(s, 0)) {
      if ((rc = aef_rpc_child_flush(s)))
        return rc;
      aef_rpc_child_trim(s);
      readable__(s, -1);
    }

    n = aef_rpc_child_read(s);
    if (n <= 0 && (rc = aef_rpc_child_flush(s)))
      return rc;
    if (n == -ENOMEM || n == -EMSGSIZE)
      return (int)n; /* a request we cannot hold */
    if (n <= 0)
      return 0; /* end-of-file or read error: the parent is done */
  }
}
