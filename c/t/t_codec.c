/* t_codec.c - BER integers, string lists, Serve frames, aef_serve_read.
 * Expected bytes come from perl's pack. */
#include "aef.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* pack "w", $v for the boundaries. */
static const struct { uint64_t v; size_t n; const char *bytes; } ber[] = {
  { 0, 1, "\x00" },
  { 2, 1, "\x02" },
  { 127, 1, "\x7f" },
  { 128, 2, "\x81\x00" },
  { 130, 2, "\x81\x02" },
  { 16383, 2, "\xff\x7f" },
  { 16384, 3, "\x81\x80\x00" },
  { UINT32_MAX, 5, "\x8f\xff\xff\xff\x7f" },
  { UINT64_C (1) << 63, 10, "\x81\x80\x80\x80\x80\x80\x80\x80\x80\x00" },
  { UINT64_MAX, 10, "\x81\xff\xff\xff\xff\xff\xff\xff\xff\x7f" },
};

static void test_ber (void)
{
  size_t i;

  for (i = 0; i < sizeof ber / sizeof ber[0]; i++) {
    aef_buf b;
    const uint8_t *p;
    uint64_t v = 12345;

    aef_buf_init (&b, 64);
    is_int (aef_ber_size (ber[i].v), ber[i].n, "ber_size(%llu)", (unsigned long long)ber[i].v);
    is_int (aef_ber_put (&b, ber[i].v), 0, "ber_put(%llu)", (unsigned long long)ber[i].v);
    ok (aef_buf_size (&b) == ber[i].n
        && memcmp (aef_buf_ptr (&b), ber[i].bytes, ber[i].n) == 0,
        "ber_put(%llu) bytes match pack w", (unsigned long long)ber[i].v);
    p = aef_buf_ptr (&b);
    is_int (aef_ber_get (&p, p + aef_buf_size (&b), &v), 1, "ber_get round trip");
    ok (v == ber[i].v, "value %llu", (unsigned long long)v);
    ok (p == aef_buf_ptr (&b) + ber[i].n, "advanced past the number");

    /* Every proper prefix is incomplete. */
    if (ber[i].n > 1) {
      const uint8_t *q = aef_buf_ptr (&b);

      is_int (aef_ber_get (&q, q + ber[i].n - 1, &v), 0, "prefix is incomplete");
      ok (q == aef_buf_ptr (&b), "incomplete leaves *p");
    }
    aef_buf_free (&b);
  }
}

static void test_ber_errors (void)
{
  /* 2^64 (10 bytes) and 2^70 (11 bytes) do not fit. */
  static const uint8_t two64[] = { 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
  static const uint8_t eleven[] = { 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
  static const uint8_t allff[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
  /* Leading zero groups are accepted, like perl's unpack "w". */
  static const uint8_t padded[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00 };
  const uint8_t *p;
  uint64_t v = 0;

  p = two64;
  is_int (aef_ber_get (&p, two64 + sizeof two64, &v), -EOVERFLOW, "2^64: -EOVERFLOW");
  ok (p == two64, "*p unchanged on overflow");
  p = eleven;
  is_int (aef_ber_get (&p, eleven + sizeof eleven, &v), -EOVERFLOW, "11-byte 2^70: -EOVERFLOW");
  p = allff;
  is_int (aef_ber_get (&p, allff + sizeof allff, &v), -EOVERFLOW, "11 bytes of 0xff: -EOVERFLOW");
  p = padded;
  is_int (aef_ber_get (&p, padded + sizeof padded, &v), 1, "zero-padded number decodes");
  is_int (v, 128, "to its value");
  p = two64;
  is_int (aef_ber_get (&p, two64, &v), 0, "empty input: 0");
}

static void test_strlist (void)
{
  static const char want[] = "\x02s1\x00\x02s3";
  aef_buf b;
  const uint8_t *p, *end, *s;
  size_t len;
  char big[130];

  aef_buf_init (&b, 1024);
  is_int (aef_strlist_put (&b, "s1", 2), 0, "put s1");
  is_int (aef_strlist_put (&b, NULL, 0), 0, "put empty");
  is_int (aef_strlist_put (&b, "s3", 2), 0, "put s3");
  ok (aef_buf_size (&b) == 7 && memcmp (aef_buf_ptr (&b), want, 7) == 0,
      "bytes match pack (w/a*)*");

  p = aef_buf_ptr (&b);
  end = p + aef_buf_size (&b);
  is_int (aef_strlist_get (&p, end, &s, &len), 1, "get 1");
  ok (len == 2 && memcmp (s, "s1", 2) == 0, "s1");
  is_int (aef_strlist_get (&p, end, &s, &len), 1, "get 2");
  is_int (len, 0, "empty string");
  is_int (aef_strlist_get (&p, end, &s, &len), 1, "get 3");
  ok (len == 2 && memcmp (s, "s3", 2) == 0, "s3");
  is_int (aef_strlist_get (&p, end, &s, &len), 0, "end of list");

  /* Truncated: the length runs past the end; an incomplete length. */
  p = aef_buf_ptr (&b);
  is_int (aef_strlist_get (&p, p + 2, &s, &len), -EBADMSG, "string past the end: -EBADMSG");
  ok (p == aef_buf_ptr (&b), "*p unchanged on error");
  aef_buf_free (&b);

  memset (big, 'a', sizeof big);
  aef_strlist_put (&b, big, sizeof big);
  ok (aef_buf_size (&b) == 132 && memcmp (aef_buf_ptr (&b), "\x81\x02", 2) == 0,
      "130-byte string has length 81 02");
  p = aef_buf_ptr (&b);
  is_int (aef_strlist_get (&p, p + 1, &s, &len), -EBADMSG, "incomplete length: -EBADMSG");
  {
    static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };

    p = huge;
    is_int (aef_strlist_get (&p, huge + sizeof huge, &s, &len), -EBADMSG, "overflowing length: -EBADMSG");
  }

  /* A bounded buffer refuses and stays unchanged. */
  aef_buf_free (&b);
  aef_buf_init (&b, 10);
  aef_strlist_put (&b, "abc", 3);
  is_int (aef_strlist_put (&b, big, 7), -EMSGSIZE, "past max: -EMSGSIZE");
  is_int (aef_buf_size (&b), 4, "nothing half-written");
  aef_buf_free (&b);

  /* A length whose BER prefix would overflow size_t (never read). */
  aef_buf_init (&b, SIZE_MAX);
  aef_strlist_put (&b, "abc", 3);
  is_int (aef_strlist_put (&b, big, SIZE_MAX - 5), -EMSGSIZE, "length near SIZE_MAX: -EMSGSIZE");
  ok (aef_buf_size (&b) == 4 && memcmp (aef_buf_ptr (&b), "\x03" "abc", 4) == 0, "unchanged");
  aef_buf_free (&b);
}

/* The frame of ->eval ('print "x"', "arg1", "a" x 130). */
static size_t eval_frame (uint8_t *out)
{
  uint32_t len = 147;
  uint8_t *p = out;

  *p++ = 'e';
  memcpy (p, &len, 4), p += 4;
  *p++ = 9, memcpy (p, "print \"x\"", 9), p += 9;
  *p++ = 4, memcpy (p, "arg1", 4), p += 4;
  *p++ = 0x81, *p++ = 0x02, memset (p, 'a', 130), p += 130;
  return (size_t)(p - out);
}

static void test_serve_put (void)
{
  aef_buf args, b;
  uint8_t want[200];
  size_t n = eval_frame (want);
  char big[130];
  uint32_t one = 1;

  if (*(uint8_t *)&one == 1)
    ok (memcmp (want, "e\x93\x00\x00\x00", 5) == 0, "little-endian header is 65 93 00 00 00");
  else
    ok (1, "big-endian host");

  memset (big, 'a', sizeof big);
  aef_buf_init (&args, 1024);
  aef_strlist_put (&args, "print \"x\"", 9);
  aef_strlist_put (&args, "arg1", 4);
  aef_strlist_put (&args, big, sizeof big);
  aef_buf_init (&b, 1024);
  is_int (aef_serve_put (&b, 'e', aef_buf_ptr (&args), aef_buf_size (&args)), 0, "serve_put eval");
  is_int (aef_buf_size (&b), n, "eval frame size %zu", n);
  is_mem (aef_buf_ptr (&b), want, n, "eval frame matches pack a L/a*");
  aef_buf_free (&b);
  aef_buf_free (&args);

  aef_buf_init (&args, 1024);
  aef_strlist_put (&args, "s1", 2);
  aef_strlist_put (&args, "", 0);
  aef_strlist_put (&args, "s3", 2);
  aef_buf_init (&b, 1024);
  is_int (aef_serve_put (&b, 'a', aef_buf_ptr (&args), aef_buf_size (&args)), 0, "serve_put send_arg");
  {
    uint8_t w[12] = { 'a', 0, 0, 0, 0, 2, 's', '1', 0, 2, 's', '3' };
    uint32_t len = 7;

    memcpy (w + 1, &len, 4);
    ok (aef_buf_size (&b) == 12 && memcmp (aef_buf_ptr (&b), w, 12) == 0,
        "send_arg frame is 61 07 00 00 00 02 73 31 00 02 73 33");
  }
  is_int (aef_serve_put (&b, 'x', NULL, 0), 0, "empty payload");
  is_int (aef_buf_size (&b), 17, "adds 5 header bytes");
  aef_buf_free (&b);
  aef_buf_free (&args);

  aef_buf_init (&b, SIZE_MAX);
  is_int (aef_serve_put (&b, 'e', NULL, (size_t)UINT32_MAX + 1), -E2BIG, "payload > 4 GiB - 1: -E2BIG");
  ok (b.data == NULL, "nothing reserved");
  aef_buf_init (&b, 8);
  is_int (aef_serve_put (&b, 'e', "abcd", 4), -EMSGSIZE, "past max: -EMSGSIZE");
  is_int (aef_buf_size (&b), 0, "nothing written");
  aef_buf_free (&b);
}

static void put_hdr (int fd, char letter, uint32_t len)
{
  uint8_t h[5];

  h[0] = (uint8_t)letter;
  memcpy (h + 1, &len, 4);
  aef_write_full (fd, h, 5);
}

static void test_serve_read (void)
{
  int sv[2], r;
  aef_buf pl;
  char letter;
  uint8_t frame[200], c;
  size_t n = eval_frame (frame), i;
  pid_t pid;

  aef_buf_init (&pl, AEF_SERVE_MAX);

  /* Split across writes: the child dribbles the frame one byte at a time. */
  aef_socketpair (sv);
  pid = fork ();
  if (pid == 0) {
    for (i = 0; i < n; i++) {
      aef_write_full (sv[1], frame + i, 1);
      usleep (i < 8 || i > n - 3 ? 2000 : 0);
    }
    _exit (0);
  }
  close (sv[1]);
  is_int (aef_serve_read (sv[0], &letter, &pl), 1, "frame split across writes");
  is_int (letter, 'e', "letter e");
  ok (aef_buf_size (&pl) == n - 5 && memcmp (aef_buf_ptr (&pl), frame + 5, n - 5) == 0, "payload");
  is_int (aef_serve_read (sv[0], &letter, &pl), 0, "then end-of-file: 0");
  waitpid (pid, NULL, 0);
  close (sv[0]);

  /* Two frames in one write; the payload replaces the old content. */
  aef_socketpair (sv);
  aef_buf_append (&pl, "junkjunk", 8);
  aef_buf_consume (&pl, 3);
  put_hdr (sv[1], 'a', 3);
  aef_write_full (sv[1], "xyz", 3);
  put_hdr (sv[1], 'k', 0);
  put_hdr (sv[1], 'b', 2);
  aef_write_full (sv[1], "pq", 2);
  is_int (aef_serve_read (sv[0], &letter, &pl), 1, "first of several frames");
  ok (letter == 'a' && aef_buf_size (&pl) == 3 && memcmp (aef_buf_ptr (&pl), "xyz", 3) == 0,
      "a xyz (old content replaced)");
  is_int (aef_serve_read (sv[0], &letter, &pl), 1, "zero-length frame");
  ok (letter == 'k' && aef_buf_size (&pl) == 0, "k, empty payload");
  is_int (aef_serve_read (sv[0], &letter, &pl), 1, "third frame");
  ok (letter == 'b' && aef_buf_size (&pl) == 2 && memcmp (aef_buf_ptr (&pl), "pq", 2) == 0, "b pq");

  /* EOF mid-header. */
  aef_write_full (sv[1], "e\x05\x00", 3);
  shutdown (sv[1], SHUT_WR);
  is_int (aef_serve_read (sv[0], &letter, &pl), 0, "EOF mid-header: 0");
  close (sv[0]);
  close (sv[1]);

  /* EOF mid-payload. */
  aef_socketpair (sv);
  put_hdr (sv[1], 'e', 10);
  aef_write_full (sv[1], "abc", 3);
  shutdown (sv[1], SHUT_WR);
  is_int (aef_serve_read (sv[0], &letter, &pl), 0, "EOF mid-payload: 0");
  close (sv[0]);
  close (sv[1]);

  /* Announced length over AEF_SERVE_MAX: refused, nothing more read (an
   * unbounded buffer, so that only AEF_SERVE_MAX can refuse). */
  {
    aef_buf unbounded;

    aef_buf_init (&unbounded, SIZE_MAX);
    aef_socketpair (sv);
    put_hdr (sv[1], 'e', AEF_SERVE_MAX + 1);
    aef_write_full (sv[1], "Z", 1);
    shutdown (sv[1], SHUT_WR);
    is_int (aef_serve_read (sv[0], &letter, &unbounded), -EMSGSIZE, "length > AEF_SERVE_MAX: -EMSGSIZE");
    ok (unbounded.data == NULL, "nothing reserved");
    ok (read (sv[0], &c, 1) == 1 && c == 'Z', "the byte after the header is still there");
    aef_buf_free (&unbounded);
    close (sv[0]);
    close (sv[1]);
  }

  /* A length the payload buffer's own max refuses. */
  {
    aef_buf small;

    aef_socketpair (sv);
    aef_buf_init (&small, 4);
    put_hdr (sv[1], 'e', 10);
    is_int (aef_serve_read (sv[0], &letter, &small), -EMSGSIZE, "length > buffer max: -EMSGSIZE");
    aef_buf_free (&small);
  }
  close (sv[0]);
  close (sv[1]);

  /* An "h" frame is followed by a descriptor that must not be read over. */
  {
    int pfd[2], got = -1;

    aef_socketpair (sv);
    r = aef_pipe (pfd);
    put_hdr (sv[1], 'h', 0);
    aef_fd_send (sv[1], pfd[1]);
    is_int (aef_serve_read (sv[0], &letter, &pl), 1, "h frame");
    ok (letter == 'h' && aef_buf_size (&pl) == 0, "h with empty payload");
    is_int (aef_fd_recv (sv[0], &got), 0, "the descriptor after it arrives");
    ok (r == 0 && got >= 0 && same_file (got, pfd[1]), "and is the one sent");
    if (got >= 0)
      close (got);
    close (pfd[0]);
    close (pfd[1]);
    close (sv[0]);
    close (sv[1]);
  }

  is_int (aef_serve_read (-1, &letter, &pl), -EBADF, "bad descriptor: -EBADF");
  aef_buf_free (&pl);
}

int main (void)
{
  test_ber ();
  test_ber_errors ();
  test_strlist ();
  test_serve_put ();
  test_serve_read ();
  return done_testing ();
}
