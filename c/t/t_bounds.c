/* t_bounds.c - every decoder, fed a length that lies (far more announced
 * than sent) and then end-of-file, costs memory in proportion to the
 * octets that really came: checked through the buffers' own capacity and
 * the process's peak of virtual memory (VmPeak), which an up-front
 * reservation of the announced length would raise by gigabytes. */
#include "aef_rpc.h"
#include "tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MIB (1024u * 1024u)

/* VmPeak of this process in KiB, or -1 */
static long vm_peak (void)
{
  FILE *f = fopen ("/proc/self/status", "r");
  char line[256];
  long kb = -1;

  if (!f)
    return -1;
  while (fgets (line, sizeof line, f))
    if (sscanf (line, "VmPeak: %ld kB", &kb) == 1)
      break;
  fclose (f);
  return kb;
}

/* a descriptor that reads prefix (n octets), then fill octets of 'x', then
 * end-of-file */
static int lying_fd (const void *prefix, size_t n, size_t fill)
{
  FILE *f = tmpfile ();
  static char x[64 * 1024];
  int fd;

  memset (x, 'x', sizeof x);
  fwrite (prefix, 1, n, f);
  while (fill) {
    size_t k = fill < sizeof x ? fill : sizeof x;

    fwrite (x, 1, k, f);
    fill -= k;
  }
  fflush (f);
  fd = dup (fileno (f));
  fclose (f);
  lseek (fd, 0, SEEK_SET);
  return fd;
}

/* the frame reader, either header size: 4 GiB - 1 announced, 1 MiB sent */
static void test_reader (unsigned hdr)
{
  static const uint8_t lie[8] = { 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff };
  int fd = lying_fd (hdr == AEF_RPC_HDR ? lie : lie + 4, hdr, MIB);
  aef_rpc_reader r;
  size_t most = 0;
  int bounded = 1;
  ssize_t n;

  aef_rpc_reader_init (&r, hdr, 0);
  while ((n = aef_rpc_reader_fill (&r, fd)) > 0) {
    if (most < r.buf.cap)
      most = r.buf.cap;
    if (r.buf.cap > 4 * aef_buf_size (&r.buf) + 2 * AEF_RPC_CHUNK_MAX)
      bounded = 0;
  }
  is_int (n, 0, "%u-octet header: end-of-file reported", hdr);
  ok (bounded, "%u-octet header: capacity within 4 x buffered + 2 chunks", hdr);
  ok (most <= 4 * (MIB + hdr), "%u-octet header: at most %zu octets for 1 MiB received", hdr, most);
  is_int (r.buf.cap, 0, "%u-octet header: storage released at end-of-file", hdr);
  aef_rpc_reader_free (&r);
  close (fd);
}

/* a read error ends the stream too: the partial frame goes */
static void test_reader_error (void)
{
  int fd = lying_fd ("\0\0\0\1\xff\xff\xff\xff", 8, 4096);
  aef_rpc_reader r;

  aef_rpc_reader_init (&r, AEF_RPC_HDR, 0);
  ok (aef_rpc_reader_fill (&r, fd) > 0, "partial frame buffered");
  ok (r.buf.cap > 0, "storage in use");
  close (fd);
  is_int (aef_rpc_reader_fill (&r, fd), -EBADF, "read error");
  is_int (r.buf.cap, 0, "storage released on a read error");
  aef_rpc_reader_free (&r);
}

/* a complete frame before the lying one survives end-of-file */
static void test_reader_complete (void)
{
  int fd = lying_fd ("\0\0\0\7\0\0\0\2ok" "\0\0\0\1\xff\xff\xff\xff", 18, 100);
  aef_rpc_reader r;
  const uint8_t *p;
  uint32_t id;
  size_t len;

  aef_rpc_reader_init (&r, AEF_RPC_HDR, 0);
  while (aef_rpc_reader_fill (&r, fd) > 0)
    ;
  is_int (aef_rpc_reader_next (&r, &id, &p, &len), 1, "complete frame still there");
  ok (id == 7 && len == 2 && !memcmp (p, "ok", 2), "id 7, payload ok");
  is_int (aef_rpc_reader_next (&r, &id, &p, &len), 0, "the lying frame never completes");
  is_int (aef_rpc_reader_fill (&r, fd), 0, "end-of-file again");
  is_int (r.buf.cap, 0, "then the storage goes");
  aef_rpc_reader_free (&r);
  close (fd);
}

static int drops;
static void drop (void *ctx, void *cb) { (void)ctx; (void)cb; drops++; }

/* the parent: a response that lies, then the child closes */
static void test_parent (void)
{
  int sv[2], cb, bounded = 1;
  size_t sent = 0;
  aef_rpc r;
  ssize_t n;
  static char blob[256 * 1024];

  aef_socketpair (sv);
  aef_rpc_init (&r, 1, 0);
  aef_rpc_connect (&r, sv[0]);
  aef_set_nonblock (sv[0], 1);
  aef_rpc_begin (&r, 0);
  is_int (aef_rpc_end (&r, &cb), 0, "one request outstanding");
  write (sv[1], "\0\0\0\1\xff\xff\xff\xff", 8);
  memset (blob, 'y', sizeof blob);
  aef_set_nonblock (sv[1], 1);
  do {
    ssize_t w = sent < sizeof blob ? write (sv[1], blob + sent, sizeof blob - sent) : 0;

    if (w > 0)
      sent += (size_t)w;
    if (sent == sizeof blob && sv[1] >= 0) {
      close (sv[1]);
      sv[1] = -1;
    }
    n = aef_rpc_read (&r);
    if (r.in.buf.cap > 4 * aef_buf_size (&r.in.buf) + 2 * AEF_RPC_CHUNK_MAX)
      bounded = 0;
  } while (n > 0 || n == -EAGAIN);
  ok (bounded, "parent: capacity within 4 x buffered + 2 chunks");
  is_int (n, 0, "parent: end-of-file");
  is_int (r.in.buf.cap, 0, "parent: response storage released at once");
  is_int (r.out.cap, 0, "parent: unwritten request storage released too");
  is_int (aef_rpc_outstanding (&r), 1, "the request is still outstanding (unexpected eof)");
  aef_rpc_free (&r, drop, NULL);
  is_int (drops, 1, "its callback is dropped with the state");
  close (sv[0]);
}

static int handled;
static int handler (void *ctx, const uint8_t *p, size_t len, aef_rpc_child *c)
{
  (void)ctx; (void)p; (void)len; (void)c;
  handled++;
  return 0;
}

/* the Sync loop: a request that lies, then end-of-file */
static void test_sync (void)
{
  int fd = lying_fd ("\xff\xff\xff\xff", 4, 3 * MIB), out = open ("/dev/null", O_WRONLY);
  aef_rpc_child c;

  aef_rpc_child_init (&c, fd, out, AEF_RPC_HDR_SYNC, 0);
  is_int (aef_rpc_sync_serve (&c, handler, NULL), 0, "sync loop: ends at end-of-file");
  is_int (handled, 0, "sync loop: the partial request is dropped");
  is_int (c.in.buf.cap, 0, "sync loop: request storage released");
  aef_rpc_child_free (&c);
  close (fd);
  close (out);
}

/* Serve commands: the largest length accepted, a little data, end-of-file */
static void test_serve (void)
{
  uint8_t hdr[5] = { 'e' };
  uint32_t len = AEF_SERVE_MAX;
  aef_buf b;
  char letter = 0;
  int fd;

  memcpy (hdr + 1, &len, 4);
  fd = lying_fd (hdr, 5, 100 * 1024);
  aef_buf_init (&b, SIZE_MAX);
  is_int (aef_serve_read (fd, &letter, &b), 0, "serve: end-of-file inside the payload");
  ok (b.cap <= 4 * 100 * 1024 + 128 * 1024, "serve: %zu octets of storage for 100 KiB received", b.cap);
  is_int (aef_buf_size (&b), 0, "serve: payload empty after the failure");
  ok (letter == 0, "serve: no command");
  aef_buf_free (&b);
  close (fd);
}

/* string lists decode in place: a lying length is refused, nothing allocated */
static void test_strlist (void)
{
  static const uint8_t in[] = { 0x8f, 0xff, 0xff, 0xff, 0x7f, 'a', 'b' };
  const uint8_t *p = in, *s;
  size_t len;

  is_int (aef_strlist_get (&p, in + sizeof in, &s, &len), -EBADMSG, "strlist: length past the end refused");
  ok (p == in, "strlist: input position unchanged");
}

int main (void)
{
  long peak0 = vm_peak (), peak1;

  test_reader (AEF_RPC_HDR);
  test_reader (AEF_RPC_HDR_SYNC);
  test_reader_error ();
  test_reader_complete ();
  test_parent ();
  test_sync ();
  test_serve ();
  test_strlist ();

  /* every lie above announced 256 MiB or 4 GiB; a few MiB really came */
  peak1 = vm_peak ();
  ok (peak0 > 0 && peak1 - peak0 < 64 * 1024, "VmPeak grew by %ld KiB (less than 64 MiB)", peak1 - peak0);
  return done_testing ();
}
