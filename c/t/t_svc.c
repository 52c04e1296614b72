/* Unit tests of c/aef_svc.c: ids, framing, datagrams, watches, liveness,
 * registration, the libevent wait step. */
#include "tap.h"
#include "util.h"
#include "../aef_svc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>

/* waitpid, interposed for the whole program (libaef.a's calls resolve to
 * it): it passes every call through, and once armed, when a non-blocking
 * reap found nothing, it lets the armed child exit and returns only once
 * that child is a zombie. Its SIGCHLD then went to the default disposition
 * (dropped) in the window between the loop's first reap and its handler. */
static int race_fd__ = -1;
static pid_t race_pid__;
pid_t waitpid (pid_t pid, int *status, int options)
{
  pid_t r = (pid_t)syscall (SYS_wait4, pid, status, options, NULL);

  if (race_fd__ >= 0 && r == 0) {
    siginfo_t si;
    close (race_fd__);
    race_fd__ = -1;
    waitid (P_PID, (id_t)race_pid__, &si, WEXITED | WNOWAIT);
  }
  return r;
}

static void test_uuid (void)
{
  char a[37], b[37];
  int i, okfmt = 1;

  is_int (aef_svc_uuid (a), 0, "uuid");
  is_int (aef_svc_uuid (b), 0, "another");
  ok (strcmp (a, b) != 0, "they differ");
  is_int (strlen (a), 36, "36 characters");
  for (i = 0; i < 36; i++)
    if ((i == 8 || i == 13 || i == 18 || i == 23) ? a[i] != '-' : !strchr ("0123456789ABCDEF", a[i]))
      okfmt = 0;
  ok (okfmt, "hex groups 8-4-4-4-12");
  ok (a[14] == '4', "version 4");
  ok (strchr ("89AB", a[19]) != NULL, "RFC 4122 variant");
}

/* ids come from a pool of random bytes: many in a row differ, and a
 * forked child does not hand out the parent's next bytes */
static void test_uuid_pool (void)
{
  char ids[100][37], mine[37], theirs[37];
  int i, j, distinct = 1, fds[2];
  pid_t pid;

  for (i = 0; i < 100; i++)
    aef_svc_uuid (ids[i]);
  for (i = 0; i < 100; i++)
    for (j = i + 1; j < 100; j++)
      if (!strcmp (ids[i], ids[j]))
        distinct = 0;
  ok (distinct, "100 ids in a row (pool refilled) all differ");
  ok (pipe (fds) == 0, "pipe");
  pid = fork ();
  if (!pid) {
    char c[37];
    aef_svc_uuid (c);
    _exit (write (fds[1], c, 37) == 37 ? 0 : 1);
  }
  aef_svc_uuid (mine);
  ok (read (fds[0], theirs, 37) == 37, "child's id");
  ok (strcmp (mine, theirs) != 0, "parent and child draw different ids after a fork");
  waitpid (pid, NULL, 0);
  is_int (aef_svc_getpid (), getpid (), "our pid");
  pid = fork ();
  if (!pid)
    _exit (aef_svc_getpid () == getpid () ? 0 : 1);
  {
    int st = -1;
    waitpid (pid, &st, 0);
    ok (WIFEXITED (st) && WEXITSTATUS (st) == 0, "a forked child's own pid, not the parent's");
  }
  waitpid (pid, NULL, 0);
  close (fds[0]);
  close (fds[1]);
}


static void test_frames (void)
{
  aef_buf b;
  size_t n = 0;
  const uint8_t *p;

  aef_buf_init (&b, 1 << 20);
  is_int (aef_svc_frame_put (&b, "hello", 5), 0, "frame put");
  is_int (aef_svc_frame_put (&b, "", 0), 0, "empty frame");
  p = aef_buf_ptr (&b);
  is_int (aef_buf_size (&b), 13, "sizes");
  is_mem (p, "\0\0\0\5hello\0\0\0\0", 13, "big-endian length, payload");
  is_int (aef_svc_frame_next (p, 3, 100, &n), 0, "short header: need more");
  is_int (aef_svc_frame_next (p, 8, 100, &n), 0, "short payload: need more");
  is_int (aef_svc_frame_next (p, 9, 100, &n), 1, "whole frame");
  is_int (n, 5, "its length");
  is_int (aef_svc_frame_next (p + 9, 4, 100, &n), 1, "empty frame is whole");
  is_int (n, 0, "length 0");
  is_int (aef_svc_frame_next ((const uint8_t *)"\xff\xff\xff\xff", 4, 100, &n), -EMSGSIZE, "too large");
  aef_buf_free (&b);
  aef_buf_init (&b, 8);
  is_int (aef_svc_frame_put (&b, "123456789", 9), -EMSGSIZE, "bounded by the buffer");
  aef_buf_free (&b);
}

/* head, content, tail: the whole text, or -EMSGSIZE */
static long msg_text__ (char *out, size_t room, const char *content, const aef_svc_stamp *st, const char *id)
{
  long h = aef_svc_msg_head (out, room, "\"me\"", 4, "\"you\"", 5), t;
  size_t cl = strlen (content);

  if (h < 0 || room - (size_t)h < cl)
    return -EMSGSIZE;
  memcpy (out + h, content, cl);
  t = aef_svc_msg_tail (out + h + cl, room - (size_t)h - cl, st, id);
  return t < 0 ? t : h + (long)cl + t;
}

static void test_msg_text (void)
{
  static const char id[] = "0A1B2C3D-0000-4000-8000-00000000000F";
  aef_svc_stamp st = { 0, 0, 0 };
  char out[400];
  long n;
  const char *want = "{\"from\":\"me\",\"to\":\"you\",\"content\":{\"a\":[1]},\"stamp\":1796579379.000042,"
                     "\"stamp_ord\":0,\"id\":\"0A1B2C3D-0000-4000-8000-00000000000F\"}";

  aef_svc_stamp_next (&st, 1796579379, 42);
  is_int ((long)st.ord, 0, "a new time: ord 0");
  n = msg_text__ (out, sizeof out, "{\"a\":[1]}", &st, id);
  is_int (n, (long)strlen (want), "message text: its length");
  is_mem (out, want, strlen (want), "message text: fields, stamp with six digits");
  aef_svc_stamp_next (&st, 1796579379, 42);
  aef_svc_stamp_next (&st, 1796579379, 42);
  is_int ((long)st.ord, 2, "the same time: ord counts up");
  aef_svc_stamp_next (&st, 1796579379, 43);
  is_int ((long)st.ord, 0, "the next microsecond: 0 again");
  st.ord = UINT64_MAX;
  st.sec = INT64_MAX;
  st.usec = 999999;
  memset (out, 0, sizeof out);
  n = aef_svc_msg_tail (out, AEF_SVC_MSG_TAIL, &st, id);
  ok (n > 0 && strstr (out, "\"stamp\":9223372036854775807.999999,\"stamp_ord\":18446744073709551615,") != NULL,
      "the largest numbers fit the tail's room");
  st.sec = -2;
  st.usec = 250000;
  memset (out, 0, sizeof out);
  n = aef_svc_msg_tail (out, sizeof out, &st, id);
  ok (n > 0 && strstr (out, "\"stamp\":-1.750000,") != NULL, "a time before the epoch");
  st.usec = 0;
  memset (out, 0, sizeof out);
  n = aef_svc_msg_tail (out, sizeof out, &st, id);
  ok (n > 0 && strstr (out, "\"stamp\":-2.000000,") != NULL, "a whole second before the epoch");
  is_int (aef_svc_msg_tail (out, AEF_SVC_MSG_TAIL - 1, &st, id), -EMSGSIZE, "tail: too little room");
  is_int (aef_svc_msg_head (out, 9 + AEF_SVC_MSG_HEAD - 1, "\"me\"", 4, "\"you\"", 5), -EMSGSIZE,
          "head: too little room");
  ok (aef_svc_msg_head (out, 9 + AEF_SVC_MSG_HEAD, "\"me\"", 4, "\"you\"", 5) > 0, "head: room enough");
  is_int (aef_svc_msg_head (out, 10, "1", 1, "12345678901", 11), -EMSGSIZE, "head: a text longer than the room");
}

static void test_json_str (void)
{
  char out[64];
  long n;

  n = aef_svc_json_str (out, "ab", 2);
  is_int (n, 4, "json string: plain");
  is_mem (out, "\"ab\"", 4, "json string: quoted");
  n = aef_svc_json_str (out, "\"\\\b\f\n\r\t\x01\x1f/\x7f", 11);
  is_int (n, 30, "json string: escapes");
  is_mem (out, "\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f/\x7f\"", 30, "json string: each escaped");
  n = aef_svc_json_str (out, "a\0b", 3);
  is_mem (out, "\"a\\u0000b\"", (size_t)n, "json string: a NUL");
  is_int (n, 10, "json string: a NUL's length");
  is_int (aef_svc_json_str (out, "", 0), 2, "json string: empty");
  is_int (aef_svc_json_str (out, "x\xc3\xa9", 3), -EINVAL, "json string: not ASCII");
  is_int (aef_svc_json_str_size ("ab", 2), 4, "json string size: plain");
  is_int (aef_svc_json_str_size ("\"\\\b\f\n\r\t\x01\x1f/\x7f", 11), 30, "json string size: escapes");
  is_int (aef_svc_json_str_size ("a\0b", 3), 10, "json string size: a NUL");
  is_int (aef_svc_json_str_size ("", 0), 2, "json string size: empty");
  is_int (aef_svc_json_str_size ("x\xc3\xa9", 3), -EINVAL, "json string size: not ASCII");
}

static void test_file_ino (void)
{
  struct stat st;
  uint64_t ino = 7;

  is_int (aef_svc_file_ino ("/", &ino), 0, "file_ino: /");
  ok (stat ("/", &st) == 0 && ino == (uint64_t)st.st_ino, "file_ino: the inode number");
  ino = 7;
  is_int (aef_svc_file_ino ("/nonexistent/x", &ino), -ENOENT, "file_ino: none");
  is_int ((long)ino, 7, "file_ino: untouched on failure");
}

static void test_dgram (void)
{
  int sv[2];
  aef_buf b;
  size_t big = 150 * 1024, i;
  char *data = malloc (big);
  int sz = 1 << 20, same = 1;

  ok (socketpair (AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "dgram pair");
  fcntl (sv[1], F_SETFL, O_NONBLOCK);
  setsockopt (sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  aef_buf_init (&b, AEF_SVC_DGRAM_MAX);
  is_int (aef_svc_dgram_recv (sv[1], &b), -EAGAIN, "nothing queued");
  for (i = 0; i < big; i++)
    data[i] = (char)(i * 7);
  ok (send (sv[0], data, big, 0) == (ssize_t)big, "150 KiB datagram sent");
  ok (send (sv[0], "", 0, 0) == 0, "empty datagram sent");
  ok (send (sv[0], "x", 1, 0) == 1, "small one sent");
  is_int (aef_svc_dgram_recv (sv[1], &b), 0, "received");
  is_int (aef_buf_size (&b), big, "whole, not truncated at 64 KiB");
  for (i = 0; i < big; i++)
    if (aef_buf_ptr (&b)[i] != (uint8_t)(char)(i * 7))
      same = 0;
  ok (same, "intact");
  is_int (aef_svc_dgram_recv (sv[1], &b), 0, "empty one");
  is_int (aef_buf_size (&b), 0, "is empty");
  is_int (aef_svc_dgram_recv (sv[1], &b), 0, "small one");
  is_mem (aef_buf_ptr (&b), "x", 1, "content");
  aef_buf_free (&b);
  aef_buf_init (&b, 10);
  ok (send (sv[0], "0123456789ABC", 13, 0) == 13, "over the bound");
  is_int (aef_svc_dgram_recv (sv[1], &b), -EMSGSIZE, "dropped with EMSGSIZE");
  is_int (aef_svc_dgram_recv (sv[1], &b), -EAGAIN, "and consumed");
  aef_buf_free (&b);

  /* the rest of a batch: an empty datagram ends it and waits for the next */
  aef_buf_init (&b, AEF_SVC_DGRAM_MAX);
  is_int (aef_svc_dgram_recv_more (sv[1], &b), -EAGAIN, "more: nothing queued");
  ok (send (sv[0], "ab", 2, 0) == 2, "one sent");
  ok (send (sv[0], "", 0, 0) == 0, "an empty one");
  ok (send (sv[0], "c", 1, 0) == 1, "and another");
  is_int (aef_svc_dgram_recv_more (sv[1], &b), 0, "more: received");
  is_mem (aef_buf_ptr (&b), "ab", 2, "its content");
  is_int (aef_svc_dgram_recv_more (sv[1], &b), -EAGAIN, "more: the empty one ends the batch");
  is_int (aef_svc_dgram_recv (sv[1], &b), 0, "the next batch gets it");
  is_int (aef_buf_size (&b), 0, "empty");
  is_int (aef_svc_dgram_recv_more (sv[1], &b), 0, "then the last");
  is_mem (aef_buf_ptr (&b), "c", 1, "content");
  aef_buf_free (&b);
  close (sv[0]);
  close (sv[1]);
  free (data);
}

static void test_watch (void)
{
  char dir[] = "/tmp/t_svc_XXXXXX", path[64], path2[64];
  int fd, fl;

  ok (mkdtemp (dir) != NULL, "tempdir");
  fd = aef_svc_watch_open (dir, 1);
  ok (fd >= 0, "watch");
  fl = fcntl (fd, F_GETFD);
  ok (fl >= 0 && (fl & FD_CLOEXEC), "close-on-exec");
  is_int (aef_svc_watch_drain (fd), 0, "nothing yet");
  snprintf (path, sizeof path, "%s/x", dir);
  close (open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  ok (aef_svc_watch_drain (fd) > 0, "creation seen");
  unlink (path);
  ok (aef_svc_watch_drain (fd) > 0, "removal seen");
  close (fd);
  fd = aef_svc_watch_open (dir, 0);
  ok (fd >= 0, "message watch");
  close (open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  is_int (aef_svc_watch_drain (fd), 0, "a creation does not count");
  snprintf (path2, sizeof path2, "%s/y", dir);
  rename (path, path2);
  ok (aef_svc_watch_drain (fd) > 0, "a rename into it does");
  unlink (path2);
  rmdir (dir);
  close (fd);
  ok (aef_svc_watch_open ("/nonexistent/dir", 0) < 0, "missing directory");
}

typedef struct taken {
  int n;
  char names[4][64];
  char data[4][64];
  size_t len[4];
  int spared[4];
} taken;

static void take_cb (void *arg, const char *name, const uint8_t *data, size_t len, int spared)
{
  taken *t = arg;

  if (t->n < 4) {
    t->spared[t->n] = spared;
    snprintf (t->names[t->n], 64, "%s", name);
    memcpy (t->data[t->n], data, len < 63 ? len : 63);
    t->data[t->n][len < 63 ? len : 63] = 0;
    t->len[t->n] = len;
  }
  t->n++;
}

static void test_files (void)
{
  char dir[] = "/tmp/t_svc_XXXXXX", path[128], big[PATH_MAX + 10];
  int step = 0, fd;
  taken t;
  struct stat st;

  ok (mkdtemp (dir) != NULL, "tempdir");
  is_int (aef_svc_file_put (dir, "b", "second", 6, NULL, NULL, NULL, &step), 0, "put b");
  is_int (aef_svc_file_put (dir, "a", "first", 5, NULL, NULL, NULL, &step), 0, "put a");
  is_int (aef_svc_file_put (dir, "e", "", 0, NULL, NULL, NULL, &step), 0, "put an empty one");
  snprintf (path, sizeof path, "%s/a.pend", dir);
  ok (stat (path, &st) < 0, "no .pend left");
  snprintf (path, sizeof path, "%s/a.ready", dir);
  ok (stat (path, &st) == 0 && st.st_size == 5, "a.ready holds it");

  is_int (aef_svc_file_put (dir, "a", "again", 5, NULL, NULL, NULL, &step), -EEXIST, "an existing .ready is not replaced");
  is_int (step, 3, "at the rename");
  snprintf (path, sizeof path, "%s/a.pend", dir);
  ok (stat (path, &st) < 0, "and the .pend is gone again");
  fd = open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  close (fd);
  is_int (aef_svc_file_put (dir, "a", "x", 1, NULL, NULL, NULL, &step), -EEXIST, "an existing .pend");
  is_int (step, 1, "at the creation");
  ok (stat (path, &st) == 0, "is left alone");
  unlink (path);
  is_int (aef_svc_file_put ("/nonexistent/dir", "a", "x", 1, NULL, NULL, NULL, &step), -ENOENT, "missing folder");
  is_int (step, 1, "at the creation");
  memset (big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  is_int (aef_svc_file_put (dir, big, "x", 1, NULL, NULL, NULL, &step), -ENAMETOOLONG, "name too long");

  /* something that is not a message: left alone */
  snprintf (path, sizeof path, "%s/c.pend", dir);
  close (open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take (dir, ".ready", NULL, 0, NULL, take_cb, &t), 3, "three taken");
  is_int (t.n, 3, "three given");
  ok (!strcmp (t.names[0], "a.ready") && !strcmp (t.names[1], "b.ready") && !strcmp (t.names[2], "e.ready"),
      "in name order");
  ok (!strcmp (t.data[0], "first") && t.len[0] == 5, "contents of a");
  ok (!strcmp (t.data[1], "second") && t.len[1] == 6, "contents of b");
  is_int (t.len[2], 0, "the empty one");
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take (dir, ".ready", NULL, 0, NULL, take_cb, &t), 0, "removed: none the next time");
  ok (stat (path, &st) == 0, "c.pend still there");
  unlink (path);
  is_int (aef_svc_files_take ("/nonexistent/dir", ".ready", NULL, 0, NULL, take_cb, &t), -ENOENT, "missing folder");

  /* a file larger than one read */
  {
    size_t n = 200000, i;
    char *d = malloc (n);
    size_t got = 0;
    for (i = 0; i < n; i++)
      d[i] = (char)('a' + i % 26);
    is_int (aef_svc_file_put (dir, "big", d, n, NULL, NULL, NULL, &step), 0, "put 200 kB");
    memset (&t, 0, sizeof t);
    is_int (aef_svc_files_take (dir, ".ready", NULL, 0, NULL, take_cb, &t), 1, "taken");
    got = t.len[0];
    is_int (got, n, "whole");
    free (d);
  }
  rmdir (dir);
}

/* messages taken kept as spares, and sent again in them */
static void test_spares (void)
{
  char dir[] = "/tmp/t_svc_XXXXXX", spare[128], peer[128], path[256];
  int step = 0, fd;
  taken t;
  struct stat st, st2;

  ok (mkdtemp (dir) != NULL, "tempdir");
  snprintf (spare, sizeof spare, "%s/.spare", dir);
  snprintf (peer, sizeof peer, "%s/peer", dir);
  ok (mkdir (spare, 0700) == 0 && mkdir (peer, 0700) == 0, "spare and peer folders");
  is_int (aef_svc_file_put (dir, "m1", "first message", 13, NULL, NULL, NULL, &step), 0, "put m1");
  is_int (aef_svc_file_put (dir, "m2", "second", 6, NULL, NULL, NULL, &step), 0, "put m2");
  is_int (aef_svc_file_put (dir, "m3", "third", 5, NULL, NULL, NULL, &step), 0, "put m3");
  snprintf (path, sizeof path, "%s/m1.ready", dir);
  stat (path, &st);
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take (dir, ".ready", spare, 2, NULL, take_cb, &t), 3, "three taken");
#ifdef __linux__
  ok (t.spared[0] && t.spared[1] && !t.spared[2], "the first two kept (room for two)");
  snprintf (path, sizeof path, "%s/m1", spare);
  ok (stat (path, &st2) == 0 && st2.st_size == 13 && st2.st_ino == st.st_ino,
      "m1 kept as a spare, its contents as they were");
  snprintf (path, sizeof path, "%s/m3", spare);
  ok (stat (path, &st2) < 0, "m3 removed");
  ok (!strcmp (t.data[0], "first message") && t.len[0] == 13, "contents given");

  /* a message sent in the spare: the same inode, renamed straight to .ready */
  snprintf (path, sizeof path, "%s/m1", spare);
  is_int (aef_svc_file_put (peer, "r1", "reply", 5, spare, "m1", NULL, &step), 0, "put r1 in spare m1");
  ok (stat (path, &st2) < 0, "the spare is used up");
  snprintf (path, sizeof path, "%s/r1.ready", peer);
  ok (stat (path, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_size == 5, "r1.ready is m1's inode, 5 bytes");
  snprintf (path, sizeof path, "%s/r1.pend", peer);
  ok (stat (path, &st2) < 0, "no .pend");
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take (peer, ".ready", NULL, 0, NULL, take_cb, &t), 1, "r1 taken");
  ok (!strcmp (t.data[0], "reply") && t.len[0] == 5 && !t.spared[0],
      "its contents only (the spare's longer ones cut), not kept");

  /* a longer message written over a shorter spare's contents */
  is_int (aef_svc_file_put (dir, "m4", "ab", 2, NULL, NULL, NULL, &step), 0, "put m4");
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take (dir, ".ready", spare, 5, NULL, take_cb, &t), 1, "m4 taken");
  snprintf (path, sizeof path, "%s/m4", spare);
  is_int (aef_svc_file_put (peer, "r4", "a longer one", 12, spare, "m4", NULL, &step), 0, "put r4 in spare m4");
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take (peer, ".ready", NULL, 0, NULL, take_cb, &t), 1, "r4 taken");
  ok (!strcmp (t.data[0], "a longer one") && t.len[0] == 12, "its contents whole");

  /* a spare larger than AEF_SVC_SPARE_KEEP is emptied */
  {
    size_t n = AEF_SVC_SPARE_KEEP + 1;
    char *d = calloc (1, n);
    is_int (aef_svc_file_put (dir, "m5", d, n, NULL, NULL, NULL, &step), 0, "put a large m5");
    free (d);
  }
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take (dir, ".ready", spare, 5, NULL, take_cb, &t), 1, "m5 taken");
  ok (t.spared[0] && t.len[0] == AEF_SVC_SPARE_KEEP + 1, "whole, and kept");
  snprintf (path, sizeof path, "%s/m5", spare);
  ok (stat (path, &st2) == 0 && st2.st_size == 0, "emptied");
  unlink (path);
  {
    char *d = calloc (1, AEF_SVC_SPARE_KEEP);
    is_int (aef_svc_file_put (dir, "m6", d, AEF_SVC_SPARE_KEEP, NULL, NULL, NULL, &step), 0, "put m6, at the bound");
    free (d);
  }
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take (dir, ".ready", spare, 5, NULL, take_cb, &t), 1, "m6 taken");
  snprintf (path, sizeof path, "%s/m6", spare);
  ok (t.spared[0] && stat (path, &st2) == 0 && st2.st_size == AEF_SVC_SPARE_KEEP, "kept as it was");
  unlink (path);

  /* an existing .ready is not replaced, and the spare is gone */
  is_int (aef_svc_file_put (peer, "x", "one", 3, NULL, NULL, NULL, &step), 0, "put x");
  snprintf (path, sizeof path, "%s/m2", spare);
  is_int (aef_svc_file_put (peer, "x", "two", 3, spare, "m2", NULL, &step), -EEXIST, "x.ready exists");
  is_int (step, 3, "at the rename");
  ok (stat (path, &st2) < 0, "the spare is removed");
  snprintf (path, sizeof path, "%s/x.ready", peer);
  ok (stat (path, &st2) == 0 && st2.st_size == 3, "x.ready untouched");
  unlink (path);

  /* a missing folder: the spare is used up, the rename fails */
  close (open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  unlink (path);
  snprintf (path, sizeof path, "%s/s", spare);
  fd = open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  close (fd);
  is_int (aef_svc_file_put ("/nonexistent/dir", "a", "x", 1, spare, "s", NULL, &step), -ENOENT, "missing folder");
  is_int (step, 3, "at the rename");
  ok (stat (path, &st2) < 0, "the spare is removed");
#endif
  /* a spare that is not there: a new file, as without one */
  snprintf (path, sizeof path, "%s/none", spare);
  is_int (aef_svc_file_put (peer, "y", "new", 3, spare, "none", NULL, &step), 0, "missing spare: put y");
  snprintf (path, sizeof path, "%s/y.ready", peer);
  ok (stat (path, &st2) == 0 && st2.st_size == 3, "y.ready written");
  unlink (path);
  /* a name that is only the suffix cannot be kept: removed */
  snprintf (path, sizeof path, "%s/.ready", dir);
  close (open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take (dir, ".ready", spare, 5, NULL, take_cb, &t), 1, "'.ready' taken");
  ok (!t.spared[0] && stat (path, &st2) < 0, "and removed");
  rmdir (peer);
  rmdir (spare);
  ok (rmdir (dir) == 0, "everything cleaned up");
}

/* a message file the reader may not write to is read and removed, not
 * kept (in a child without root's rights, which may write to anything) */
static void test_spare_readonly (void)
{
  pid_t pid = fork ();
  int st = -1;

  if (!pid) {
    char dir[] = "/tmp/t_svc_XXXXXX", spare[128], path[256];
    int step;
    taken t;
    struct stat sb;

    if (geteuid () == 0 && (setgid (65534) < 0 || setuid (65534) < 0))
      _exit (2);
    if (!mkdtemp (dir))
      _exit (3);
    snprintf (spare, sizeof spare, "%s/.spare", dir);
    mkdir (spare, 0700);
    if (aef_svc_file_put (dir, "ro", "read only", 9, NULL, NULL, NULL, &step))
      _exit (4);
    snprintf (path, sizeof path, "%s/ro.ready", dir);
    chmod (path, 0400);
    memset (&t, 0, sizeof t);
    st = aef_svc_files_take (dir, ".ready", spare, 5, NULL, take_cb, &t) == 1 && !t.spared[0]
      && !strcmp (t.data[0], "read only") && stat (path, &sb) < 0;
    rmdir (spare);
    rmdir (dir);
    _exit (st ? 0 : 5);
  }
  waitpid (pid, &st, 0);
  ok (WIFEXITED (st) && WEXITSTATUS (st) == 0, "a read-only message: given whole, removed, not kept (status %d)", st);
}

/* one inotify record: header (wd, mask, cookie, len) and the name padded
 * to plen bytes */
static size_t ev_put (uint8_t *p, uint32_t mask, const char *name, uint32_t plen)
{
  int32_t wd = 1;
  uint32_t cookie = 0;

  memcpy (p, &wd, 4);
  memcpy (p + 4, &mask, 4);
  memcpy (p + 8, &cookie, 4);
  memcpy (p + 12, &plen, 4);
  memset (p + 16, 0, plen);
  if (name)
    memcpy (p + 16, name, strlen (name));
  return 16 + plen;
}

typedef struct seen {
  int n;
  char names[8][64];
} seen;

static void name_cb (void *arg, const char *name, size_t len)
{
  seen *s = arg;

  if (s->n < 8)
    snprintf (s->names[s->n], 64, "%.*s", (int)len, name);
  s->n++;
}

static void test_watch_names (void)
{
  uint8_t buf[512];
  size_t n = 0;
  seen s;

  n += ev_put (buf + n, 0x80, "a.ready", 16);     /* moved in */
  n += ev_put (buf + n, 0x100, "b.ready", 16);    /* created: not a message arrival */
  n += ev_put (buf + n, 0x80, "c.pend", 8);
  n += ev_put (buf + n, 0x80, NULL, 0);           /* no name */
  n += ev_put (buf + n, 0x80 | 0x40000000, "d.ready", 8); /* exactly filled, no NUL */
  n += ev_put (buf + n, 0x80, ".ready", 16);
  memset (&s, 0, sizeof s);
  is_int (aef_svc_watch_names (buf, n, ".ready", name_cb, &s), 3, "three names");
  ok (s.n == 3 && !strcmp (s.names[0], "a.ready") && !strcmp (s.names[1], "d.ready")
      && !strcmp (s.names[2], ".ready"), "the arrivals ending in the suffix, in order");
  memset (&s, 0, sizeof s);
  is_int (aef_svc_watch_names (buf, 0, ".ready", name_cb, &s), 0, "empty buffer");
  n = ev_put (buf, 0x80, "e.ready", 8);
  n += ev_put (buf + n, 0x4000, NULL, 0);
  memset (&s, 0, sizeof s);
  is_int (aef_svc_watch_names (buf, n, ".ready", name_cb, &s), -EOVERFLOW, "overflow reported");
  is_int (s.n, 1, "names before it given");
  memset (&s, 0, sizeof s);
  is_int (aef_svc_watch_names (buf, 20, ".ready", name_cb, &s), -EBADMSG, "a name past the end");
  is_int (aef_svc_watch_names (buf, 10, ".ready", name_cb, &s), -EBADMSG, "a header past the end");
  is_int (s.n, 0, "nothing given");
}

static void test_files_watched (void)
{
#ifdef __linux__
  char dir[] = "/tmp/t_svc_XXXXXX", path[128];
  int step = 0, w, fd;
  taken t;

  ok (mkdtemp (dir) != NULL, "tempdir");
  w = aef_svc_watch_open (dir, 0);
  ok (w >= 0, "watch");
  is_int (aef_svc_file_put (dir, "b", "second", 6, NULL, NULL, NULL, &step), 0, "put b");
  is_int (aef_svc_file_put (dir, "a", "first", 5, NULL, NULL, NULL, &step), 0, "put a");
  snprintf (path, sizeof path, "%s/x.ready", dir);
  fd = open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);   /* not renamed in: not announced */
  ok (fd >= 0 && write (fd, "x", 1) == 1, "x.ready written in place");
  close (fd);
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take_watched (w, dir, ".ready", NULL, 0, NULL, take_cb, &t), 2, "the two announced");
  ok (!strcmp (t.names[0], "a.ready") && !strcmp (t.names[1], "b.ready"), "in name order");
  ok (!strcmp (t.data[0], "first") && !strcmp (t.data[1], "second"), "their contents");
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take_watched (w, dir, ".ready", NULL, 0, NULL, take_cb, &t), 1,
          "nothing announced: the folder is listed");
  ok (!strcmp (t.names[0], "x.ready"), "x found so");
  /* announced but already gone: skipped */
  is_int (aef_svc_file_put (dir, "c", "third", 5, NULL, NULL, NULL, &step), 0, "put c");
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take (dir, ".ready", NULL, 0, NULL, take_cb, &t), 1, "c taken by a listing");
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take_watched (w, dir, ".ready", NULL, 0, NULL, take_cb, &t), 0, "its event finds nothing");
  close (w);
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take_watched (w, dir, ".ready", NULL, 0, NULL, take_cb, &t), 0,
          "a watch that cannot be read: listed (empty)");
  is_int (aef_svc_files_take_watched (-1, "/nonexistent/dir", ".ready", NULL, 0, NULL, take_cb, &t), -ENOENT,
          "and a missing folder reported");
  ok (rmdir (dir) == 0, "cleaned up");
#endif
}

/* takes only what the watch announced: nothing announced lists nothing;
 * spares kept; dropped events still list the folder */
static void test_files_announced (void)
{
#ifdef __linux__
  char dir[] = "/tmp/t_svc_XXXXXX", spare[64], path[128];
  int step = 0, w, fd;
  taken t;

  ok (mkdtemp (dir) != NULL, "tempdir");
  snprintf (spare, sizeof spare, "%s/.spare", dir);
  ok (mkdir (spare, 0700) == 0, "spare folder");
  w = aef_svc_watch_open (dir, 0);
  ok (w >= 0, "watch");
  snprintf (path, sizeof path, "%s/x.ready", dir);
  fd = open (path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);   /* not renamed in: not announced */
  ok (fd >= 0 && write (fd, "x", 1) == 1, "x.ready written in place");
  close (fd);
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take_announced (w, dir, ".ready", spare, 4, NULL, take_cb, &t), 0,
          "nothing announced: nothing taken");
  ok (access (path, F_OK) == 0, "x.ready left alone (no listing)");
  is_int (aef_svc_file_put (dir, "b", "second", 6, NULL, NULL, NULL, &step), 0, "put b");
  is_int (aef_svc_file_put (dir, "a", "first", 5, NULL, NULL, NULL, &step), 0, "put a");
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take_announced (w, dir, ".ready", spare, 1, NULL, take_cb, &t), 2, "the two announced");
  ok (!strcmp (t.names[0], "a.ready") && !strcmp (t.names[1], "b.ready"), "in name order");
  ok (!strcmp (t.data[0], "first") && !strcmp (t.data[1], "second"), "their contents");
  ok (t.spared[0] == 1 && t.spared[1] == 0, "the first kept as a spare (room for one)");
  snprintf (path, sizeof path, "%s/a", spare);
  ok (access (path, F_OK) == 0, "spare/a");
  ok (unlink (path) == 0, "spare removed");
  {
    struct pollfd p = { w, POLLIN, 0 };
    is_int (poll (&p, 1, 0), 1, "what was taken leaves the watch readable");
    memset (&t, 0, sizeof t);
    is_int (aef_svc_files_take_announced (w, dir, ".ready", NULL, 0, NULL, take_cb, &t), 0,
            "that event announces no file: nothing more (no listing)");
    is_int (poll (&p, 1, 0), 0, "and nothing is queued then");
  }
  close (w);
  memset (&t, 0, sizeof t);
  is_int (aef_svc_files_take_announced (w, dir, ".ready", NULL, 0, NULL, take_cb, &t), 1,
          "a watch that cannot be read: the folder listed");
  ok (!strcmp (t.names[0], "x.ready"), "x found so");
  ok (rmdir (spare) == 0 && rmdir (dir) == 0, "cleaned up");
#endif
}

static void test_alive (void)
{
  pid_t pid = fork ();

  if (!pid)
    _exit (3);
  ok (aef_svc_pid_alive (getpid ()), "self alive");
  while (aef_svc_pid_alive (pid))
    usleep (1000);
  ok (kill (pid, 0) == 0, "zombie still signalable");
  ok (!aef_svc_pid_alive (pid), "but not alive");
  waitpid (pid, NULL, 0);
  ok (!aef_svc_pid_alive (pid), "reaped: gone");
  ok (!aef_svc_pid_alive (0), "pid 0");
}

static void write_pidfile (const char *path, long pid)
{
  char tmp[80], buf[32];
  int fd, n = snprintf (buf, sizeof buf, "%ld", pid);

  snprintf (tmp, sizeof tmp, "%s.pend", path);
  fd = open (tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, buf, (size_t)n) != n)
    _exit (9);
  close (fd);
  rename (tmp, path);
}

static void test_pidfile (void)
{
  char dir[] = "/tmp/t_svc_XXXXXX", path[64], pend[80], sub[80], buf[PATH_MAX + 16];
  int fd, pass, step, r;
  pid_t pid, dead;

  ok (mkdtemp (dir) != NULL, "tempdir");
  snprintf (path, sizeof path, "%s/svc.pid", dir);
  is_int ((int)aef_svc_pidfile_pid (path), 0, "no pidfile: 0");
  write_pidfile (path, (long)getpid ());
  is_int ((int)aef_svc_pidfile_pid (path), (int)getpid (), "own pid");
  dead = fork ();
  if (!dead)
    _exit (0);
  waitpid (dead, NULL, 0);
  write_pidfile (path, (long)dead);
  is_int ((int)aef_svc_pidfile_pid (path), 0, "a pid that is gone: 0");
  is_int ((int)aef_svc_pidfile_wait (path, -1, 30), 0, "wait times out");
  for (pass = 0; pass < 2; pass++) {
    fd = pass ? aef_svc_watch_open (dir, 1) : -1;
    unlink (path);
    pid = fork ();
    if (!pid) {
      usleep (30000);
      write_pidfile (path, (long)getpid ());
      pause ();
      _exit (0);
    }
    is_int ((int)aef_svc_pidfile_wait (path, fd, 5000), (int)pid,
            pass ? "woken by the watch" : "found by polling");
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
    if (fd >= 0)
      close (fd);
  }
  /* pidfile_put: written whole by rename, replacing; failures by step */
  is_int (aef_svc_pidfile_put (path, (long)getpid (), &step), 0, "put: 0");
  is_int (step, 3, "put: every step done");
  is_int ((int)aef_svc_pidfile_pid (path), (int)getpid (), "put: the pid is read back");
  is_int (aef_svc_pidfile_put (path, 1234567L, &step), 0, "put again: replaces");
  fd = open (path, O_RDONLY);
  is_int ((int)read (fd, buf, sizeof buf), 7, "put: the decimal pid only");
  close (fd);
  ok (!memcmp (buf, "1234567", 7), "put: its digits");
  snprintf (pend, sizeof pend, "%s.pend", path);
  ok (access (pend, F_OK) < 0, "put: no .pend file left");
  snprintf (sub, sizeof sub, "%s/none/svc.pid", dir);
  is_int (aef_svc_pidfile_put (sub, 1L, &step), -ENOENT, "put in a missing folder: -ENOENT");
  is_int (step, 1, "put: failed creating the .pend file");
  snprintf (sub, sizeof sub, "%s/busy", dir);
  snprintf (pend, sizeof pend, "%s/busy/x", dir);
  ok (mkdir (sub, 0700) == 0 && mkdir (pend, 0700) == 0, "a folder in the way");
  is_int (aef_svc_pidfile_put (sub, 1L, &step), -EISDIR, "put over a folder: -EISDIR");
  is_int (step, 3, "put: failed renaming");
  snprintf (pend, sizeof pend, "%s/busy.pend", dir);
  ok (access (pend, F_OK) < 0, "put: a failed rename leaves no .pend file");
  /* writing fails where no file may grow (EFBIG): in a child */
  snprintf (pend, sizeof pend, "%s.pend", path);
  pid = fork ();
  if (!pid) {
    struct rlimit rl = { 0, 0 };
    signal (SIGXFSZ, SIG_IGN);
    setrlimit (RLIMIT_FSIZE, &rl);
    r = aef_svc_pidfile_put (path, 1L, &step);
    _exit (r == -EFBIG && step == 2 && access (pend, F_OK) < 0 ? 0 : 1);
  }
  waitpid (pid, &r, 0);
  ok (WIFEXITED (r) && WEXITSTATUS (r) == 0, "put: a failed write is step 2, -errno, no .pend file left");
  memset (buf, 'x', sizeof buf - 1);
  buf[sizeof buf - 1] = 0;
  is_int (aef_svc_pidfile_put (buf, 1L, &step), -ENAMETOOLONG, "put: name too long");
  is_int (step, 1, "put: too long at the creation");
  snprintf (pend, sizeof pend, "%s/busy/x", dir);
  rmdir (pend);
  rmdir (sub);
  is_int ((int)aef_svc_pidfile_pid (dir), -EISDIR, "unreadable: -errno");
  is_int ((int)aef_svc_pidfile_wait (dir, -1, 30), 0, "and waited for like a missing one");
  is_int ((int)aef_svc_pidfile_wait (path, 999999, 30), -EBADF, "a bad watch: -errno");
  unlink (path);
  rmdir (dir);
}

/* the stat of path: 0 when it is missing */
static mode_t mode_of (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0 ? st.st_mode : 0;
}

/* removes a test's entry (socket or folder) and its pidfile */
static void entry_clear (const char *path, const char *pidf)
{
  if (unlink (path) < 0)
    rmdir (path);
  unlink (pidf);
}

static void test_register (void)
{
  char dir[] = "/tmp/t_svc_XXXXXX", path[64], pidf[80], susp[80], sub[96], longp[200];
  int s, s2, c, w, r, n;
  struct sockaddr_un sa;

  ok (mkdtemp (dir) != NULL, "tempdir");
  /* a datagram socket: bound, pidfile written, a stale .suspend removed */
  snprintf (path, sizeof path, "%s/dg", dir);
  snprintf (pidf, sizeof pidf, "%s.pid", path);
  snprintf (susp, sizeof susp, "%s.suspend", path);
  close (open (susp, O_WRONLY | O_CREAT, 0600));
  s = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  is_int (aef_svc_register (AEF_SVC_ENTRY_DGRAM, path, s, (long)getpid (), NULL), 0, "dgram: 0");
  ok (S_ISSOCK (mode_of (path)), "dgram: the entry is the socket");
  is_int ((int)aef_svc_pidfile_pid (pidf), (int)getpid (), "dgram: the pidfile names the pid");
  ok (!mode_of (susp), "dgram: the .suspend file is gone");
  c = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  memset (&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  strcpy (sa.sun_path, path);
  ok (sendto (c, "hi", 2, 0, (struct sockaddr *)&sa, sizeof sa) == 2, "dgram: a datagram sent to the entry");
  ok (recv (s, sub, sizeof sub, MSG_DONTWAIT) == 2, "dgram: arrives at the socket");
  close (c);
  /* an entry that exists: left alone */
  s2 = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  is_int (aef_svc_register (AEF_SVC_ENTRY_DGRAM, path, s2, 1L, NULL), -EADDRINUSE, "dgram again: -EADDRINUSE");
  ok (S_ISSOCK (mode_of (path)), "dgram again: the entry stays");
  is_int ((int)aef_svc_pidfile_pid (pidf), (int)getpid (), "dgram again: the pidfile stays");
  close (s2);
  close (s);
  entry_clear (path, pidf);

  /* a stream socket: bound and listening */
  snprintf (path, sizeof path, "%s/st", dir);
  snprintf (pidf, sizeof pidf, "%s.pid", path);
  s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  is_int (aef_svc_register (AEF_SVC_ENTRY_STREAM, path, s, (long)getpid (), NULL), 0, "stream: 0");
  c = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  strcpy (sa.sun_path, path);
  ok (connect (c, (struct sockaddr *)&sa, sizeof sa) == 0, "stream: it listens");
  is_int ((int)aef_svc_pidfile_pid (pidf), (int)getpid (), "stream: the pidfile");
  close (c);
  close (s);
  entry_clear (path, pidf);

  /* a folder and its watch, in place before the pidfile */
  snprintf (path, sizeof path, "%s/dir", dir);
  snprintf (pidf, sizeof pidf, "%s.pid", path);
  w = 12345;
  is_int (aef_svc_register (AEF_SVC_ENTRY_DIR, path, -1, (long)getpid (), &w), 0, "dir: 0");
  ok (S_ISDIR (mode_of (path)), "dir: the entry is a folder");
  is_int ((int)aef_svc_pidfile_pid (pidf), (int)getpid (), "dir: the pidfile");
#ifdef __linux__
  ok (w >= 0 && is_cloexec (w), "dir: a close-on-exec watch");
  snprintf (sub, sizeof sub, "%s/m.pend", path);
  close (open (sub, O_WRONLY | O_CREAT, 0600));
  snprintf (longp, sizeof longp, "%s/m.ready", path);
  rename (sub, longp);
  {
    char ev[512];
    ok (read (w, ev, sizeof ev) > 0, "dir: the watch sees a message file arrive");
  }
  unlink (longp);
#else
  is_int (w, -1, "dir: no watch without inotify");
#endif
  n = w;
  is_int (aef_svc_register (AEF_SVC_ENTRY_DIR, path, -1, 1L, &w), -EEXIST, "dir again: -EEXIST");
  is_int (w, n, "dir again: *watch untouched");
  if (w >= 0)
    close (w);
  entry_clear (path, pidf);
  is_int (aef_svc_register (AEF_SVC_ENTRY_DIR, path, -1, (long)getpid (), NULL), 0, "dir without a watch: 0");
  entry_clear (path, pidf);

  /* a failure after the entry (the pidfile cannot replace a folder that
   * holds something): nothing of the client's left */
  snprintf (sub, sizeof sub, "%s/x", pidf);
  ok (mkdir (pidf, 0700) == 0 && mkdir (sub, 0700) == 0, "a folder where the pidfile goes");
  n = count_fds ();
  w = 12345;
  r = aef_svc_register (AEF_SVC_ENTRY_DIR, path, -1, 1L, &w);
  ok (r < 0, "dir: a pidfile that cannot be written fails");
  ok (!mode_of (path), "dir: the folder is removed again");
  is_int (count_fds (), n, "dir: its watch is closed");
  is_int (w, 12345, "dir: *watch untouched");
  s = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ok (aef_svc_register (AEF_SVC_ENTRY_DGRAM, path, s, 1L, NULL) < 0 && !mode_of (path),
      "dgram: the socket's entry is removed again");
  close (s);
  s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ok (aef_svc_register (AEF_SVC_ENTRY_STREAM, path, s, 1L, NULL) < 0 && !mode_of (path),
      "stream: likewise");
  close (s);
  rmdir (sub);
  rmdir (pidf);

  /* arguments */
  is_int (aef_svc_register (0, path, -1, 1L, NULL), -EINVAL, "an unknown kind: -EINVAL");
  memset (longp, 'x', sizeof longp - 1);
  longp[sizeof longp - 1] = 0;
  s = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  is_int (aef_svc_register (AEF_SVC_ENTRY_DGRAM, longp, s, 1L, NULL), -ENAMETOOLONG,
          "a path too long for a socket: -ENAMETOOLONG");
  close (s);
  s = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  snprintf (path, sizeof path, "%s/none/dg", dir);
  is_int (aef_svc_register (AEF_SVC_ENTRY_DGRAM, path, s, 1L, NULL), -ENOENT, "a missing route: -ENOENT");
  close (s);
  rmdir (dir);
}

static void test_fd_release (void)
{
  int sv[2], fd, n;
  char c;
  struct stat st, null;

  ok (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "a socket pair");
  n = count_fds ();
  is_int (aef_svc_fd_release (sv[0]), 0, "release: 0");
  is_int (count_fds (), n, "release: the number stays taken");
  stat ("/dev/null", &null);
  ok (fstat (sv[0], &st) == 0 && st.st_rdev == null.st_rdev && S_ISCHR (st.st_mode), "release: it is /dev/null now");
  ok (is_cloexec (sv[0]), "release: close-on-exec");
  is_int ((int)read (sv[1], &c, 1), 0, "release: the socket is let go (its peer sees the end)");
  close (sv[0]);
  close (sv[1]);
  fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  close (fd);
  is_int (aef_svc_fd_release (fd), -EBADF, "release of a closed descriptor: -EBADF");
  is_int (count_fds (), n - 2, "and it stays closed");
}

static void test_wait (void)
{
  aef_svc_loop *l = NULL;
  aef_svc_wait w;
  int sv[2], rr[1], wr[1], gone[1], sig = SIGUSR1;
  unsigned cnt[1] = { 0 };
  aef_svc_reaped reaped[4];
  pid_t pid, watch[1];
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  is_int (aef_svc_loop_new (&l), 0, "loop");
  ok (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) == 0, "pair");

  memset (&w, 0, sizeof w);
  w.rfds = &sv[1]; w.nr = 1; w.rready = rr;
  w.timeout_ms = 20;
  is_int (aef_svc_loop_wait (l, &w), 0, "timeout");
  ok (write (sv[0], "x", 1) == 1, "write");
  is_int (aef_svc_loop_wait (l, &w), 1, "readable");
  ok (rr[0] == 1, "flagged");

  memset (&w, 0, sizeof w);
  w.wfds = &sv[0]; w.nw = 1; w.wready = wr; w.timeout_ms = 1000;
  is_int (aef_svc_loop_wait (l, &w), 1, "writable");

  /* signals: the loop handles them while it waits, then restores ours */
  sigaction (SIGUSR1, &sa, NULL);
  memset (&w, 0, sizeof w);
  w.sigs = &sig; w.nsig = 1; w.sigcount = cnt; w.timeout_ms = 5000;
  pid = fork ();
  if (!pid) {
    /* once the loop handles SIGUSR1 (our disposition ignores it) */
    wait_caught (getppid (), SIGUSR1);
    kill (getppid (), SIGUSR1);
    _exit (0);
  }
  is_int (aef_svc_loop_wait (l, &w), 1, "signal woke it");
  is_int (cnt[0], 1, "counted once");
  {
    struct sigaction cur;
    sigaction (SIGUSR1, NULL, &cur);
    ok (cur.sa_handler == SIG_IGN, "previous disposition restored");
  }
  waitpid (pid, NULL, 0);

  /* child reaping with the raw status */
  memset (&w, 0, sizeof w);
  w.reap = 1; w.reaped = reaped; w.reaped_cap = 4; w.timeout_ms = 5000;
  pid = fork ();
  if (!pid)
    _exit (5);
  ok (aef_svc_loop_wait (l, &w) >= 1, "child exit woke it");
  is_int (w.nreaped, 1, "one reaped");
  is_int (reaped[0].pid, pid, "its pid");
  ok (WIFEXITED (reaped[0].status) && WEXITSTATUS (reaped[0].status) == 5, "raw status 5");

  /* a child that exits after the first reap, before the SIGCHLD handler
   * is in place, is still reaped without waiting for the timeout */
  {
    int p[2];
    ok (pipe (p) == 0, "pipe");
    pid = fork ();
    if (!pid) {
      char c;
      close (p[1]);
      _exit (read (p[0], &c, 1) == 0 ? 6 : 7);
    }
    close (p[0]);
    race_pid__ = pid;
    race_fd__ = p[1];
    memset (&w, 0, sizeof w);
    w.reap = 1; w.reaped = reaped; w.reaped_cap = 4; w.timeout_ms = 3000;
    is_int (aef_svc_loop_wait (l, &w), 1, "exit in the window before the handler: reaped");
    ok (race_fd__ < 0, "the window was hit");
    is_int (reaped[0].pid, pid, "its pid");
    ok (WIFEXITED (reaped[0].status) && WEXITSTATUS (reaped[0].status) == 6, "raw status 6");
  }

  /* a watched pid */
  pid = fork ();
  if (!pid) {
    usleep (50000);
    _exit (0);
  }
  watch[0] = pid;
  memset (&w, 0, sizeof w);
  w.watch = watch; w.nwatch = 1; w.gone = gone; w.timeout_ms = 5000;
  is_int (aef_svc_loop_wait (l, &w), 1, "watched pid gone (a zombie)");
  ok (gone[0] == 1, "flagged");
  is_int (aef_svc_loop_wait (l, &w), 1, "still gone on the next wait");
  waitpid (pid, NULL, 0);
  is_int (aef_svc_loop_wait (l, &w), 1, "and once reaped");

  /* a live watched pid: its pidfd is kept from one wait to the next, and
   * closed when the pid is no longer watched */
  {
    int before = count_fds (), during;
    pid = fork ();
    if (!pid) {
      pause ();
      _exit (0);
    }
    watch[0] = pid;
    memset (&w, 0, sizeof w);
    w.watch = watch; w.nwatch = 1; w.gone = gone; w.timeout_ms = 10;
    is_int (aef_svc_loop_wait (l, &w), 0, "live watched pid: timeout");
    during = count_fds ();
    is_int (aef_svc_loop_wait (l, &w), 0, "again");
    is_int (count_fds (), during, "no descriptor more on the second wait");
    kill (pid, SIGKILL);
    w.timeout_ms = 5000;
    is_int (aef_svc_loop_wait (l, &w), 1, "killed: gone");
    waitpid (pid, NULL, 0);
    memset (&w, 0, sizeof w);
    w.timeout_ms = 0;
    aef_svc_loop_wait (l, &w);
    is_int (count_fds (), before, "its pidfd closed once not watched");
  }

  close (sv[0]);
  close (sv[1]);
  aef_svc_loop_free (l);
}

int main (void)
{
  test_uuid ();
  test_uuid_pool ();
  test_frames ();
  test_msg_text ();
  test_json_str ();
  test_file_ino ();
  test_dgram ();
  test_watch ();
  test_files ();
  test_spares ();
  test_spare_readonly ();
  test_watch_names ();
  test_files_watched ();
  test_files_announced ();
  test_alive ();
  test_pidfile ();
  test_wait ();
  test_register ();
  test_fd_release ();
  return done_testing ();
}
