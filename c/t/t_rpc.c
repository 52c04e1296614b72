/* t_rpc.c - RPC framing, the reader's growth rule, the parent's request
 * and callback bookkeeping, and the synchronous child's loop. Expected
 * bytes are those of the original's pack "N/a*" / "NN/a*". */
#include "aef_rpc.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* a request of the default string serialiser: pack "(w/a*)*", @strs */
static void strlist (aef_buf *b, const char *const *strs, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    aef_strlist_put (b, strs[i], strlen (strs[i]));
}

static void test_frames (void)
{
  /* the original's bytes for calls ("a","bc") then (""), and one event
   * ("evt","x"), with the default string serialiser */
  static const char *r1[] = { "a", "bc" }, *r2[] = { "" }, *ev[] = { "evt", "x" };
  aef_buf b;
  size_t mark;

  aef_buf_init (&b, SIZE_MAX);

  is_int (aef_rpc_frame_begin (&b, AEF_RPC_HDR_SYNC, 0, 5, &mark), 0, "sync frame begin");
  strlist (&b, r1, 2);
  is_int (aef_rpc_frame_end (&b, AEF_RPC_HDR_SYNC, mark), 0, "sync frame end");
  is_int (aef_rpc_frame_begin (&b, AEF_RPC_HDR_SYNC, 0, 0, &mark), 0, "second frame");
  strlist (&b, r2, 1);
  aef_rpc_frame_end (&b, AEF_RPC_HDR_SYNC, mark);
  is_int (aef_buf_size (&b), 9 + 5, "sync requests: 14 octets");
  is_mem (aef_buf_ptr (&b), "\0\0\0\5\1a\2bc" "\0\0\0\1\0", 14, "sync requests 1 and 2");
  aef_buf_consume (&b, aef_buf_size (&b));

  aef_rpc_frame_begin (&b, AEF_RPC_HDR, 0, 0, &mark);
  strlist (&b, ev, 2);
  aef_rpc_frame_end (&b, AEF_RPC_HDR, mark);
  is_int (aef_buf_size (&b), 14, "event: 14 octets");
  is_mem (aef_buf_ptr (&b), "\0\0\0\0\0\0\0\6\3evt\1x", 14, "event frame");

  /* abort removes exactly the frame begun */
  aef_rpc_frame_begin (&b, AEF_RPC_HDR, 7, 100, &mark);
  aef_buf_append (&b, "xyz", 3);
  aef_rpc_frame_abort (&b, mark);
  is_int (aef_buf_size (&b), 14, "abort drops the frame");
  aef_buf_free (&b);
}

/* feed bytes through a socketpair and read them with a reader */
static void test_reader (void)
{
  int sv[2];
  aef_rpc_reader r;
  const uint8_t *p;
  uint32_t id;
  size_t len;
  static const char two[] = "\0\0\0\2\0\0\0\3abc" "\0\0\0\0\0\0\0\0" "\0\0\0\3\0\0";

  ok (aef_socketpair (sv) == 0, "socketpair");
  aef_rpc_reader_init (&r, AEF_RPC_HDR, 0);
  is_int (r.rlen, 496, "default rlen 496");

  write (sv[1], two, sizeof two - 1);
  is_int (aef_rpc_reader_fill (&r, sv[0]), sizeof two - 1, "one read takes all");
  is_int (aef_rpc_reader_next (&r, &id, &p, &len), 1, "first frame");
  ok (id == 2 && len == 3 && memcmp (p, "abc", 3) == 0, "id 2, payload abc");
  is_int (aef_rpc_reader_next (&r, &id, &p, &len), 1, "second frame");
  ok (id == 0 && len == 0, "id 0, empty payload");
  is_int (aef_rpc_reader_next (&r, &id, &p, &len), 0, "partial frame stays");

  /* the rest of the third frame arrives later */
  write (sv[1], "\0\1z", 3);
  ok (aef_rpc_reader_fill (&r, sv[0]) > 0, "read the rest");
  is_int (aef_rpc_reader_next (&r, &id, &p, &len), 1, "third frame");
  ok (id == 3 && len == 1 && *p == 'z', "id 3, payload z");

  /* non-blocking, nothing there */
  aef_set_nonblock (sv[0], 1);
  is_int (aef_rpc_reader_fill (&r, sv[0]), -EAGAIN, "EAGAIN");

  /* a large frame: the buffer grows with what arrives (doubling at most),
   * never with the announced length */
  {
    size_t big = 3u << 20, sent = 0;
    uint8_t hdr[8] = { 0, 0, 0, 9, (uint8_t)(big >> 24), (uint8_t)(big >> 16), (uint8_t)(big >> 8), (uint8_t)big };
    char *blob = malloc (big);
    int got = 0, bounded = 1;

    memset (blob, 'q', big);
    write (sv[1], hdr, 8);
    aef_set_nonblock (sv[1], 1);
    ok (aef_rpc_reader_fill (&r, sv[0]) == 8, "header alone");
    ok (r.buf.cap < 4096, "no room reserved for the announced 3 MiB (%zu)", r.buf.cap);
    while (!got) {
      ssize_t w = sent < big ? write (sv[1], blob + sent, big - sent) : 0;

      if (w > 0)
        sent += (size_t)w;
      if (aef_rpc_reader_fill (&r, sv[0]) > 0
          && r.buf.cap > 2 * aef_buf_size (&r.buf) + 2 * AEF_RPC_CHUNK_MAX)
        bounded = 0;
      got = aef_rpc_reader_next (&r, &id, &p, &len);
    }
    ok (got && id == 9 && len == big && p[0] == 'q' && p[big - 1] == 'q', "3 MiB frame");
    ok (bounded, "capacity within twice the buffered octets plus two chunks");
    ok (r.buf.cap >= big + 8 && r.buf.cap <= 2 * (big + 8), "buffer grew to the frame (%zu)", r.buf.cap);
    aef_rpc_reader_trim (&r);
    ok (r.buf.cap >= big, "kept while large frames come");
    aef_set_nonblock (sv[1], 0);
    write (sv[1], "\0\0\0\1\0\0\0\1x", 9);
    aef_rpc_reader_fill (&r, sv[0]);
    ok (aef_rpc_reader_next (&r, &id, &p, &len) && len == 1 && *p == 'x', "then a small one");
    aef_rpc_reader_trim (&r);
    is_int (r.buf.cap, 0, "released after a round of small frames");
    free (blob);
  }

  /* end-of-file */
  close (sv[1]);
  is_int (aef_rpc_reader_fill (&r, sv[0]), 0, "end-of-file");
  aef_rpc_reader_free (&r);
  close (sv[0]);
}

/* split reading: a payload that is one string (BER length, octets) has
 * its octets read into storage of their own */
static size_t split1 (void *ctx, const uint8_t *p, size_t avail, size_t len)
{
  const uint8_t *q = p;
  uint64_t n;

  (*(int *)ctx)++;
  if (aef_ber_get (&q, p + avail, &n) == 1 && n == len - (size_t)(q - p))
    return (size_t)(q - p);
  return AEF_RPC_SPLIT_NONE;
}

/* write one frame (id 5) of a string of n octets c (list: BER length
 * first), or of two strings when two is set; read until complete */
static int split_frame (aef_rpc_reader *r, int sv[2], size_t n, char c, int two,
                        const uint8_t **p, size_t *len, int *bounded)
{
  aef_buf b = AEF_BUF_INIT (SIZE_MAX);
  size_t mark, sent = 0;
  uint32_t id;
  int got = 0;
  char *s = malloc (n);

  memset (s, c, n);
  aef_rpc_frame_begin (&b, AEF_RPC_HDR, 5, 0, &mark);
  aef_strlist_put (&b, s, two ? n / 2 : n);
  if (two)
    aef_strlist_put (&b, s, n - n / 2);
  aef_rpc_frame_end (&b, AEF_RPC_HDR, mark);
  while (!got) {
    ssize_t w = sent < aef_buf_size (&b) ? write (sv[1], aef_buf_ptr (&b) + sent, aef_buf_size (&b) - sent) : 0;

    if (w > 0)
      sent += (size_t)w;
    if (aef_rpc_reader_fill (r, sv[0]) > 0 && r->body_len
        && (r->body.cap > 4 * aef_buf_size (&r->body) + 2 * AEF_RPC_CHUNK_MAX || r->body.cap > r->body_len + 2))
      *bounded = 0;
    got = aef_rpc_reader_next (r, &id, p, len);
  }
  aef_buf_free (&b);
  free (s);
  return id == 5;
}

static void test_split (void)
{
  int sv[2], asked = 0, bounded = 1;
  aef_rpc_reader r;
  const uint8_t *p, *b;
  size_t len, blen, cap, big = 1u << 20;
  uint8_t *own;
  uint32_t id;

  ok (aef_socketpair (sv) == 0, "socketpair");
  aef_set_nonblock (sv[0], 1);
  aef_set_nonblock (sv[1], 1);
  aef_rpc_reader_init (&r, AEF_RPC_HDR, 0);
  aef_rpc_reader_split (&r, split1, &asked, 4096);

  /* small: not asked, read the ordinary way */
  ok (split_frame (&r, sv, 100, 'a', 0, &p, &len, &bounded) && len == 101 && p[1] == 'a', "small frame whole");
  is_int (asked, 0, "split not asked for a small frame");
  is_int (aef_rpc_reader_body (&r, &b, &blen), 0, "no body");

  /* one large string: the BER length is the payload, the octets the body */
  ok (split_frame (&r, sv, big, 'b', 0, &p, &len, &bounded), "large frame");
  is_int (asked, 1, "split asked once");
  is_int (len, 3, "payload: the 3-octet BER length");
  ok (aef_rpc_reader_body (&r, &b, &blen) && blen == big && b[0] == 'b' && b[big - 1] == 'b', "body: the string");
  ok (bounded, "body storage within 4 x received + 2 chunks, and the body + 2");
  ok (r.buf.cap < 64 * 1024, "the frame buffer stayed small (%zu)", r.buf.cap);
  ok (aef_rpc_reader_take (&r, &own, &blen, &cap) && blen == big && cap >= big + 2 && own[0] == 'b', "take the storage");
  is_int (aef_rpc_reader_body (&r, &b, &blen), 0, "taken: no body any more");
  aef_rpc_reader_give (&r, own, cap);

  /* the storage given back is used for the next body */
  ok (split_frame (&r, sv, big, 'c', 0, &p, &len, &bounded) && len == 3, "second large frame");
  ok (aef_rpc_reader_body (&r, &b, &blen) && b == own && blen == big && b[7] == 'c', "read into the storage given back");
  aef_rpc_reader_trim (&r);
  ok (r.body.cap >= big, "kept after a round with a large frame");
  ok (aef_rpc_reader_take (&r, &own, &blen, &cap) == 0, "nothing to take after the round");

  /* storage more than twice the size a body needs is not used for it */
  ok (split_frame (&r, sv, big / 4, 'g', 0, &p, &len, &bounded), "a much smaller large frame");
  ok (aef_rpc_reader_body (&r, &b, &blen) && blen == big / 4 && b[9] == 'g', "read into storage of its own");
  ok (r.body.cap <= big / 4 + 2, "sized by what came (%zu)", r.body.cap);
  aef_rpc_reader_trim (&r);

  /* two strings: split declines, the frame is read whole */
  ok (split_frame (&r, sv, big, 'd', 1, &p, &len, &bounded) && len == big + 6, "two strings: one payload");
  is_int (aef_rpc_reader_body (&r, &b, &blen), 0, "no body");
  aef_rpc_reader_trim (&r);
  ok (split_frame (&r, sv, 10, 'e', 0, &p, &len, &bounded), "a small frame");
  aef_rpc_reader_trim (&r);
  is_int (r.body.cap, 0, "body storage released after a round of small frames");

  /* end-of-file inside a body: everything goes */
  {
    static const uint8_t hdr[] = { 0, 0, 0, 7, 0, 0x10, 0, 3, 0x80 | 0x40, 0x80, 0 };
    char junk[8192];

    memset (junk, 'f', sizeof junk);
    write (sv[1], hdr, sizeof hdr);
    write (sv[1], junk, sizeof junk);
    while (aef_rpc_reader_fill (&r, sv[0]) > 0)
      ;
    ok (r.body_len == (1u << 20), "a body is being read");
    close (sv[1]);
    is_int (aef_rpc_reader_fill (&r, sv[0]), 0, "end-of-file");
    ok (r.body.cap == 0 && r.buf.cap == 0, "storage released");
    is_int (aef_rpc_reader_next (&r, &id, &p, &len), 0, "no frame");
  }
  aef_rpc_reader_free (&r);
  close (sv[0]);
}

/* the original's rule: rlen - 128 < buffered => rlen = rlen * 2 + 16 */
static void test_rlen (void)
{
  int sv[2];
  aef_rpc_reader r;
  static uint8_t junk[4096];

  aef_socketpair (sv);
  aef_rpc_reader_init (&r, AEF_RPC_HDR, 200);
  /* a header announcing 4000 octets, then 150 of them: 158 buffered */
  memcpy (junk, "\0\0\0\1\0\0\x0f\xa0", 8);
  write (sv[1], junk, 158);
  aef_rpc_reader_fill (&r, sv[0]);
  is_int (r.rlen, 200, "rlen unchanged while 200 - 128 >= 0 buffered");
  write (sv[1], junk, 10);
  aef_rpc_reader_fill (&r, sv[0]); /* 158 buffered: 72 < 158 */
  is_int (r.rlen, 416, "rlen doubled plus 16");
  aef_rpc_reader_free (&r);
  close (sv[0]);
  close (sv[1]);
}

static int dropped;
static void drop (void *ctx, void *cb) { (void)ctx; (void)cb; dropped++; }

static void test_parent_sync (void)
{
  aef_rpc r;
  int sv[2], a, b, c;
  const uint8_t *p;
  size_t len;
  void *cb;
  uint8_t got[64];

  aef_socketpair (sv);
  aef_rpc_init (&r, 0, 0);

  /* queued before the connection exists */
  is_int (aef_rpc_begin (&r, 5), 0, "begin");
  aef_buf_append (&r.out, "\1a\2bc", 5);
  is_int (aef_rpc_end (&r, &a), 0, "end");
  is_int (aef_rpc_write (&r), 9, "not connected: all pending");
  aef_rpc_begin (&r, 1);
  aef_buf_append (&r.out, "\0", 1);
  aef_rpc_end (&r, &b);
  is_int (aef_rpc_outstanding (&r), 2, "two outstanding");

  aef_set_nonblock (sv[0], 1);
  aef_rpc_connect (&r, sv[0]);
  is_int (aef_rpc_write (&r), 0, "written");
  is_int (read (sv[1], got, sizeof got), 14, "child receives 14 octets");
  is_mem (got, "\0\0\0\5\1a\2bc\0\0\0\1\0", 14, "wire bytes");

  /* responses carry id 1 and are matched by order; events interleave */
  write (sv[1], "\0\0\0\1\0\0\0\2\1x" "\0\0\0\0\0\0\0\1\0" "\0\0\0\1\0\0\0\0", 27);
  is_int (aef_rpc_read (&r), 27, "read");
  is_int (aef_rpc_next (&r, &p, &len, &cb), AEF_RPC_RESULT, "result");
  ok (cb == &a && len == 2, "first callback");
  is_int (aef_rpc_next (&r, &p, &len, &cb), AEF_RPC_EVENT, "event");
  is_int (aef_rpc_next (&r, &p, &len, &cb), AEF_RPC_RESULT, "result");
  ok (cb == &b && len == 0, "second callback");
  is_int (aef_rpc_next (&r, &p, &len, &cb), AEF_RPC_NONE, "none");
  write (sv[1], "\0\0\0\1\0\0\0\0", 8);
  aef_rpc_read (&r);
  is_int (aef_rpc_next (&r, &p, &len, &cb), AEF_RPC_UNEXPECTED, "response without request");

  /* shutdown once drained */
  aef_rpc_begin (&r, 0);
  aef_rpc_end (&r, &c);
  aef_rpc_shutdown (&r, 0);
  aef_set_nonblock (sv[1], 1);
  ok (read (sv[1], got, 1) < 0 && errno == EAGAIN, "not written, not shut down yet");
  aef_set_nonblock (sv[1], 0);
  aef_rpc_write (&r);
  is_int (read (sv[1], got, sizeof got), 4, "request");
  is_int (read (sv[1], got, sizeof got), 0, "then end-of-file");

  dropped = 0;
  aef_rpc_free (&r, drop, NULL);
  is_int (dropped, 1, "free drops the waiting callback");
  close (sv[0]);
  close (sv[1]);
}

static void test_parent_async (void)
{
  enum { N = 5000 };
  static int cbs[N];
  aef_rpc r;
  uint32_t i;
  int ok_ids = 1, ok_cbs = 1;
  const uint8_t *p;
  size_t len;
  void *cb;
  int sv[2];
  uint8_t frame[8];

  aef_rpc_init (&r, 1, 0);
  for (i = 0; i < N; i++) {
    aef_rpc_begin (&r, 0);
    aef_rpc_end (&r, &cbs[i]);
  }
  for (i = 0; i < N; i++) {
    const uint8_t *f = aef_buf_ptr (&r.out) + 8 * i;
    uint32_t id = (uint32_t)f[0] << 24 | f[1] << 16 | f[2] << 8 | f[3];

    if (id != i + 1)
      ok_ids = 0;
  }
  ok (ok_ids, "ids 1, 2, 3, ...");

  /* answer out of order: odd ids backwards, then even ones */
  aef_socketpair (sv);
  aef_rpc_connect (&r, sv[0]);
  for (i = N; i >= 1; i--)
    if (i % 2) {
      frame[0] = (uint8_t)(i >> 24); frame[1] = (uint8_t)(i >> 16);
      frame[2] = (uint8_t)(i >> 8); frame[3] = (uint8_t)i;
      memset (frame + 4, 0, 4);
      aef_buf_append (&r.in.buf, frame, 8);
    }
  for (i = 2; i <= N; i += 2) {
    frame[0] = (uint8_t)(i >> 24); frame[1] = (uint8_t)(i >> 16);
    frame[2] = (uint8_t)(i >> 8); frame[3] = (uint8_t)i;
    memset (frame + 4, 0, 4);
    aef_buf_append (&r.in.buf, frame, 8);
  }
  for (i = N; i >= 1; i--)
    if (i % 2 && (aef_rpc_next (&r, &p, &len, &cb) != AEF_RPC_RESULT || cb != &cbs[i - 1]))
      ok_cbs = 0;
  for (i = 2; i <= N; i += 2)
    if (aef_rpc_next (&r, &p, &len, &cb) != AEF_RPC_RESULT || cb != &cbs[i - 1])
      ok_cbs = 0;
  ok (ok_cbs, "out-of-order responses find their callbacks");
  is_int (aef_rpc_outstanding (&r), 0, "nothing outstanding");

  /* wrap-around: after 0xffffffff comes 1, skipping ids still waiting */
  aef_buf_consume (&r.out, aef_buf_size (&r.out));
  r.id = UINT32_MAX - 1;
  aef_rpc_begin (&r, 0);
  aef_rpc_end (&r, &cbs[0]); /* 0xffffffff */
  r.id = 0;
  aef_rpc_begin (&r, 0);
  aef_rpc_end (&r, &cbs[1]); /* 1 */
  r.id = UINT32_MAX - 1;
  aef_rpc_begin (&r, 0);
  aef_rpc_end (&r, &cbs[2]); /* 0xffffffff is taken, 1 is taken: 2 */
  {
    const uint8_t *f = aef_buf_ptr (&r.out);

    ok (memcmp (f, "\xff\xff\xff\xff", 4) == 0, "id 0xffffffff");
    ok (memcmp (f + 8, "\0\0\0\1", 4) == 0, "then 1");
    ok (memcmp (f + 16, "\0\0\0\2", 4) == 0, "skips outstanding ids, never 0");
  }
  dropped = 0;
  aef_rpc_free (&r, drop, NULL);
  is_int (dropped, 3, "free drops the three waiting callbacks");
  close (sv[0]);
  close (sv[1]);
}

/* the synchronous child loop against a hand-written parent */
static int echo_calls;

static int echo (void *ctx, const uint8_t *p, size_t len, aef_rpc_child *c)
{
  int rc;

  (void)ctx;
  echo_calls++;
  if (len == 4 && memcmp (p, "\3die", 4) == 0)
    return 42;
  if (len == 4 && memcmp (p, "\3big", 4) == 0) {
    /* written directly: header and payload in pieces */
    struct iovec iov[3] = { { (void *)"\0\0\0\1\0\0\0\4", 8 }, { (void *)"\3b", 2 }, { (void *)"ig", 2 } };

    return aef_rpc_child_writev (c, iov, 3);
  }
  if ((rc = aef_rpc_child_begin (c, 1, len)))
    return rc;
  aef_buf_append (&c->out, p, len);
  return aef_rpc_child_end (c);
}

/* a request that arrives while an answer waits: batch_one sends it */
static int batch_peer, batch_answer_seen;

static int batch (void *ctx, const uint8_t *p, size_t len, aef_rpc_child *c)
{
  if (len == 4 && memcmp (p, "\3one", 4) == 0) {
    write (batch_peer, "\0\0\0\4\3two", 8);
    shutdown (batch_peer, SHUT_WR);
  } else {
    struct pollfd pf = { batch_peer, POLLIN, 0 };

    batch_answer_seen = poll (&pf, 1, 0);
  }
  return echo (ctx, p, len, c);
}

static void test_sync_serve (void)
{
  int sv[2];
  aef_rpc_child s;
  uint8_t got[64];
  pid_t pid;
  int status;

  aef_socketpair (sv);
  pid = fork ();
  if (pid == 0) {
    close (sv[0]);
    aef_rpc_child_init (&s, sv[1], sv[1], AEF_RPC_HDR_SYNC, 0);
    _exit (aef_rpc_sync_serve (&s, echo, NULL) == 0 ? 0 : 1);
  }
  close (sv[1]);
  /* two requests, the second split over two writes, one answered with
   * writev after them, then a partial one */
  write (sv[0], "\0\0\0\5\1a\2bc\0\0", 11);
  write (sv[0], "\0\1\0" "\0\0\0\4\3big" "\0\0", 13);
  shutdown (sv[0], SHUT_WR);
  is_int (aef_read_full (sv[0], got, 13 + 9 + 12), 1, "three responses");
  is_mem (got, "\0\0\0\1\0\0\0\5\1a\2bc" "\0\0\0\1\0\0\0\1\0" "\0\0\0\1\0\0\0\4\3big", 34,
          "id 1, payload echoed, in order");
  is_int (read (sv[0], got, 1), 0, "then end-of-file");
  waitpid (pid, &status, 0);
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "loop returned 0 at end-of-file");
  close (sv[0]);

  /* answers wait for requests that arrived meanwhile, then leave together */
  aef_socketpair (sv);
  batch_peer = sv[0];
  batch_answer_seen = -1;
  write (sv[0], "\0\0\0\4\3one", 8);
  aef_rpc_child_init (&s, sv[1], sv[1], AEF_RPC_HDR_SYNC, 0);
  ok (s.fast == AEF_RPC_SYNC_FAST && s.age == AEF_RPC_SYNC_AGE, "batch: default limits");
  /* limits no slow moment of a loaded machine reaches: the batching
   * decision does not depend on how fast this run is */
  s.fast = s.age = 600000000000ull;
  is_int (aef_rpc_sync_serve (&s, batch, NULL), 0, "batch: loop returned 0 at end-of-file");
  is_int (batch_answer_seen, 0, "batch: the first answer waited while the second request was handled");
  is_int (aef_read_full (sv[0], got, 24), 1, "batch: both answers");
  is_mem (got, "\0\0\0\1\0\0\0\4\3one" "\0\0\0\1\0\0\0\4\3two", 24, "batch: in order");
  aef_rpc_child_free (&s);
  close (sv[0]);
  close (sv[1]);

  /* a handler failure ends the loop, after the responses before it */
  aef_socketpair (sv);
  write (sv[0], "\0\0\0\1\0" "\0\0\0\4\3die" "\0\0\0\1\0", 18);
  aef_rpc_child_init (&s, sv[1], sv[1], AEF_RPC_HDR_SYNC, 0);
  echo_calls = 0;
  is_int (aef_rpc_sync_serve (&s, echo, NULL), 42, "handler's value returned");
  is_int (echo_calls, 2, "no request after it");
  is_int (read (sv[0], got, sizeof got), 9, "the response before it was written");
  aef_rpc_child_free (&s);
  close (sv[0]);

  /* parent gone: write error */
  signal (SIGPIPE, SIG_IGN);
  write (sv[1] = dup (sv[1]), "", 0);
  {
    int pv[2];

    aef_socketpair (pv);
    write (pv[0], "\0\0\0\1\0", 5);
    shutdown (pv[0], SHUT_RD);
    aef_rpc_child_init (&s, pv[1], pv[1], AEF_RPC_HDR_SYNC, 0);
    is_int (aef_rpc_sync_serve (&s, echo, NULL), -EPIPE, "write error: -EPIPE");
    aef_rpc_child_free (&s);
    close (pv[0]);
    close (pv[1]);
  }
  close (sv[1]);
}

/* the endpoint as the asynchronous child uses it: "NN/a*" requests,
 * non-blocking descriptors, one write per readiness, a final flush */
static void test_child_async (void)
{
  int sv[2], i;
  aef_rpc_child c;
  const uint8_t *p;
  uint8_t got[19];
  uint32_t id;
  size_t len;
  ssize_t left;

  aef_socketpair (sv);
  aef_set_nonblock (sv[1], 1);
  aef_rpc_child_init (&c, sv[1], sv[1], AEF_RPC_HDR, 0);

  is_int (aef_rpc_child_read (&c), -EAGAIN, "nothing to read yet");
  write (sv[0], "\0\0\0\7\0\0\0\2hi" "\0\0\0\x9\0\0", 16);
  is_int (aef_rpc_child_read (&c), 16, "one read");
  ok (aef_rpc_child_next (&c, &id, &p, &len) && id == 7 && len == 2 && !memcmp (p, "hi", 2),
      "request id 7, payload hi");
  is_int (aef_rpc_child_next (&c, &id, &p, &len), 0, "a partial request stays");
  aef_rpc_child_trim (&c);

  /* the response to 7, an event */
  is_int (aef_rpc_child_begin (&c, 7, 2), 0, "begin a response");
  aef_buf_append (&c.out, "ok", 2);
  is_int (aef_rpc_child_end (&c), 0, "end it");
  is_int (aef_rpc_child_begin (&c, 0, 1), 0, "begin an event");
  aef_buf_append (&c.out, "e", 1);
  is_int (aef_rpc_child_end (&c), 0, "end it");
  is_int (aef_rpc_child_write (&c), 0, "one write drains both");
  is_int (aef_rpc_child_write (&c), 0, "nothing left to write");
  is_int (aef_read_full (sv[0], got, 10 + 9), 1, "both arrive");
  is_mem (got, "\0\0\0\7\0\0\0\2ok" "\0\0\0\0\0\0\0\1e", 19, "in order, as NN/a*");

  /* fill the socket: writes leave frames pending, flush waits them out */
  for (i = 0; i < 64; i++) {
    static uint8_t x[65536];

    aef_rpc_child_begin (&c, 1, sizeof x);
    aef_buf_append (&c.out, x, sizeof x);
    aef_rpc_child_end (&c);
  }
  left = aef_rpc_child_write (&c);
  ok (left > 0, "a full socket leaves octets pending");
  if (fork () == 0) { /* the reader */
    static uint8_t sink[65536];

    close (sv[1]);
    while (read (sv[0], sink, sizeof sink) > 0)
      ;
    _exit (0);
  }
  close (sv[0]);
  is_int (aef_rpc_child_flush (&c), 0, "flush waits until all is written");
  is_int ((int)aef_buf_size (&c.out), 0, "nothing is queued afterwards");
  aef_rpc_child_free (&c);
  close (sv[1]);
  wait (NULL);
}

int main (void)
{
  test_frames ();
  test_reader ();
  test_split ();
  test_rlen ();
  test_parent_sync ();
  test_parent_async ();
  test_sync_serve ();
  test_child_async ();
  return done_testing ();
}
