/* Unit tests of c/aef_svc.c's message files with held spares: the
 * descriptors aef_svc_files_take keeps open (aef_svc_held) and
 * aef_svc_file_put writes through. */
#include "tap.h"
#include "util.h"
#include "../aef_svc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

typedef struct got {
  int n, spared;
  char data[256];
  size_t len;
} got;

static void take_cb (void *arg, const char *name, const uint8_t *data, size_t len, int spared)
{
  got *g = arg;

  (void)name;
  g->n++;
  g->spared += spared;
  g->len = len;
  memcpy (g->data, data, len < sizeof g->data - 1 ? len : sizeof g->data - 1);
  g->data[len < sizeof g->data - 1 ? len : sizeof g->data - 1] = 0;
}

static int is_open (int fd)
{
  return fcntl (fd, F_GETFD) >= 0;
}

/* the contents of path as a string (at most 255 bytes), "" when missing */
static const char *slurp (const char *path)
{
  static char buf[256];
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t k = fd < 0 ? 0 : read (fd, buf, sizeof buf - 1);

  if (fd >= 0)
    close (fd);
  buf[k > 0 ? k : 0] = 0;
  return buf;
}

/* removes the files of folder d, then d: 0 or -1 */
static int empty_rmdir (const char *d)
{
  DIR *dh = opendir (d);
  struct dirent *e;
  char p[512];

  while (dh && (e = readdir (dh))) {
    if (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")) {
      snprintf (p, sizeof p, "%s/%s", d, e->d_name);
      unlink (p);
    }
  }
  if (dh)
    closedir (dh);
  return rmdir (d);
}

static int put (const char *dir, const char *name, const char *data)
{
  int step;

  return aef_svc_file_put (dir, name, data, strlen (data), NULL, NULL, NULL, &step);
}

static char dir[] = "/tmp/t_svc_files_XXXXXX";
static char mine[256], spare[256], peer[256], path[512];

static void test_held (void)
{
  aef_svc_held h;
  got g;
  int step, fd, i;
  struct stat st, st2;

  aef_svc_held_init (&h);
  is_int (h.n, 0, "nothing held at first");

  /* a message taken: kept as a spare, its descriptor held */
  is_int (put (mine, "m1", "a request"), 0, "put m1");
  memset (&g, 0, sizeof g);
  is_int (aef_svc_files_take (mine, ".ready", spare, 10, &h, take_cb, &g), 1, "m1 taken");
  ok (g.spared == 1 && !strcmp (g.data, "a request"), "kept, contents given");
  is_int (h.n, 1, "its descriptor held");
  fd = h.f[0].fd;
  ok (is_open (fd) && is_cloexec (fd), "open, close-on-exec");
  ok (!strcmp (h.f[0].name, "m1") && h.f[0].size == 9, "under the spare's name, with its size");
  ok (h.dir_fd >= 0 && is_cloexec (h.dir_fd) && h.spare_fd >= 0 && is_cloexec (h.spare_fd)
      && !strcmp (h.dir, mine) && !strcmp (h.spare_dir, spare),
      "the two folders held open (close-on-exec)");
  snprintf (path, sizeof path, "%s/m1", spare);
  stat (path, &st);

  /* a shorter answer through it: the same inode, cut to length */
  is_int (aef_svc_file_put (peer, "r1", "short", 5, spare, "m1", &h, &step), 0, "r1 put in held m1");
  is_int (h.n, 0, "no longer held");
  ok (!is_open (fd), "its descriptor closed");
  ok (stat (path, &st2) < 0, "the spare used up");
  snprintf (path, sizeof path, "%s/r1.ready", peer);
  ok (stat (path, &st2) == 0 && st2.st_ino == st.st_ino, "r1.ready is m1's file");
  ok (!strcmp (slurp (path), "short") && st2.st_size == 5, "holding only the answer");
  unlink (path);

  /* a longer one */
  is_int (put (mine, "m2", "ab"), 0, "put m2");
  memset (&g, 0, sizeof g);
  is_int (aef_svc_files_take (mine, ".ready", spare, 10, &h, take_cb, &g), 1, "m2 taken");
  is_int (aef_svc_file_put (peer, "r2", "a longer answer", 15, spare, "m2", &h, &step), 0, "r2 put in held m2");
  snprintf (path, sizeof path, "%s/r2.ready", peer);
  ok (!strcmp (slurp (path), "a longer answer"), "whole");
  unlink (path);

  /* more spares than AEF_SVC_HELD: the last ones held, the oldest closed */
  for (i = 0; i < AEF_SVC_HELD + 2; i++) {
    char n[16];
    snprintf (n, sizeof n, "n%02d", i);
    put (mine, n, "x");
  }
  memset (&g, 0, sizeof g);
  is_int (aef_svc_files_take (mine, ".ready", spare, 100, &h, take_cb, &g), AEF_SVC_HELD + 2,
          "%d taken", AEF_SVC_HELD + 2);
  is_int (g.spared, AEF_SVC_HELD + 2, "all kept");
  is_int (h.n, AEF_SVC_HELD, "%d held", AEF_SVC_HELD);
  ok (!strcmp (h.f[0].name, "n02") && !strcmp (h.f[AEF_SVC_HELD - 1].name, "n17"),
      "the last ones, in the order taken");
  /* one not held (n00) is used through its path, as before */
  is_int (aef_svc_file_put (peer, "r3", "by path", 7, spare, "n00", &h, &step), 0, "a spare not held");
  snprintf (path, sizeof path, "%s/r3.ready", peer);
  ok (!strcmp (slurp (path), "by path"), "written all the same");
  is_int (h.n, AEF_SVC_HELD, "the held ones untouched");
  unlink (path);
  /* one from the middle */
  fd = h.f[5].fd;
  is_int (aef_svc_file_put (peer, "r4", "middle", 6, spare, "n07", &h, &step), 0, "a held one from the middle");
  ok (!is_open (fd) && h.n == AEF_SVC_HELD - 1 && !strcmp (h.f[5].name, "n08"), "taken out of the list");
  snprintf (path, sizeof path, "%s/r4.ready", peer);
  ok (!strcmp (slurp (path), "middle"), "written");
  unlink (path);

  /* a held spare that vanished (its folder emptied): a new file instead */
  fd = h.f[h.n - 1].fd;
  snprintf (path, sizeof path, "%s/n17", spare);
  unlink (path);
  is_int (aef_svc_file_put (peer, "r5", "new file", 8, spare, "n17", &h, &step), 0, "a vanished held spare");
  ok (!is_open (fd), "its descriptor closed");
  snprintf (path, sizeof path, "%s/r5.ready", peer);
  ok (!strcmp (slurp (path), "new file"), "the message written in a new file");
  snprintf (path, sizeof path, "%s/r5.pend", peer);
  ok (stat (path, &st2) < 0, "no .pend left");
  snprintf (path, sizeof path, "%s/r5.ready", peer);
  unlink (path);

  /* the rename fails: the held spare is removed, its descriptor closed */
  put (peer, "x", "one");
  fd = h.f[h.n - 1].fd;
  is_int (aef_svc_file_put (peer, "x", "two", 3, spare, "n16", &h, &step), -EEXIST, "x.ready exists");
  is_int (step, 3, "at the rename");
  ok (!is_open (fd), "descriptor closed");
  snprintf (path, sizeof path, "%s/n16", spare);
  ok (stat (path, &st2) < 0, "the spare removed");
  snprintf (path, sizeof path, "%s/x.ready", peer);
  ok (!strcmp (slurp (path), "one"), "x.ready untouched");
  unlink (path);
  /* a missing folder: not mistaken for a vanished spare */
  fd = h.f[h.n - 1].fd;
  is_int (aef_svc_file_put ("/nonexistent/dir", "a", "x", 1, spare, "n15", &h, &step), -ENOENT,
          "missing folder");
  is_int (step, 3, "at the rename");
  ok (!is_open (fd), "descriptor closed");
  snprintf (path, sizeof path, "%s/n15", spare);
  ok (stat (path, &st2) < 0, "the spare removed");

  /* a file over AEF_SVC_SPARE_KEEP bytes is kept (emptied), not held */
  {
    size_t n = AEF_SVC_SPARE_KEEP + 1;
    char *d = calloc (1, n);
    size_t before = h.n;
    is_int (aef_svc_file_put (mine, "big", d, n, NULL, NULL, NULL, &step), 0, "put a large one");
    free (d);
    memset (&g, 0, sizeof g);
    is_int (aef_svc_files_take (mine, ".ready", spare, 100, &h, take_cb, &g), 1, "taken");
    ok (g.spared == 1 && g.len == AEF_SVC_SPARE_KEEP + 1, "whole, kept");
    is_int (h.n, before, "not held");
    snprintf (path, sizeof path, "%s/big", spare);
    ok (stat (path, &st2) == 0 && st2.st_size == 0, "emptied");
    unlink (path);
  }

  /* a name too long to hold: kept, not held */
  {
    char n[AEF_SVC_HELD_NAME + 8];
    size_t before = h.n;
    memset (n, 'l', sizeof n - 1);
    n[sizeof n - 1] = 0;
    put (mine, n, "long name");
    memset (&g, 0, sizeof g);
    is_int (aef_svc_files_take (mine, ".ready", spare, 100, &h, take_cb, &g), 1, "a long name taken");
    ok (g.spared == 1 && h.n == before, "kept, not held");
    is_int (aef_svc_file_put (peer, "r6", "via path", 8, spare, n, &h, &step), 0, "sent in it by path");
    snprintf (path, sizeof path, "%s/r6.ready", peer);
    ok (!strcmp (slurp (path), "via path"), "written");
    unlink (path);
  }

  /* the watched take holds too */
  {
    int w = aef_svc_watch_open (mine, 0);
    size_t before = h.n;
    ok (w >= 0, "watch");
    put (peer, "w1", "watched");
    snprintf (path, sizeof path, "%s/w1.ready", peer);
    {
      char to[512];
      snprintf (to, sizeof to, "%s/w1.ready", mine);
      ok (rename (path, to) == 0, "w1 renamed in");
    }
    memset (&g, 0, sizeof g);
    is_int (aef_svc_files_take_watched (w, mine, ".ready", spare, 100, &h, take_cb, &g), 1, "announced one taken");
    is_int (h.n, before + 1 > AEF_SVC_HELD ? AEF_SVC_HELD : before + 1, "held");
    ok (!strcmp (h.f[h.n - 1].name, "w1"), "as w1");
    close (w);
  }

  /* a take from another folder: its folders held instead */
  {
    char other[300], ospare[320];
    snprintf (other, sizeof other, "%s/other", dir);
    snprintf (ospare, sizeof ospare, "%s/.spare", other);
    ok (mkdir (other, 0700) == 0 && mkdir (ospare, 0700) == 0, "another folder");
    put (other, "o1", "other");
    memset (&g, 0, sizeof g);
    is_int (aef_svc_files_take (other, ".ready", ospare, 100, &h, take_cb, &g), 1, "taken from it");
    ok (!strcmp (h.dir, other) && !strcmp (h.spare_dir, ospare), "its folders held");
    is_int (aef_svc_file_put (peer, "r7", "from other", 10, ospare, "o1", &h, &step), 0, "sent in its spare");
    snprintf (path, sizeof path, "%s/r7.ready", peer);
    ok (!strcmp (slurp (path), "from other"), "written");
    unlink (path);
    /* a spare of the first folder, not held: by its path */
    is_int (aef_svc_file_put (peer, "r8", "by path again", 13, spare, "n01", &h, &step), 0,
            "a spare of a folder not held");
    snprintf (path, sizeof path, "%s/r8.ready", peer);
    ok (!strcmp (slurp (path), "by path again"), "written");
    unlink (path);
    ok (empty_rmdir (ospare) == 0 && empty_rmdir (other) == 0, "removed");
  }

  /* clearing closes every held descriptor */
  {
    int fds[AEF_SVC_HELD + 2], n = (int)h.n, all = 1;
    for (i = 0; i < n; i++)
      fds[i] = h.f[i].fd;
    fds[n] = h.dir_fd;
    fds[n + 1] = h.spare_fd;
    aef_svc_held_clear (&h);
    for (i = 0; i < n + 2; i++)
      all &= !is_open (fds[i]);
    ok (n > 0 && all && h.n == 0 && h.dir_fd < 0 && h.spare_fd < 0 && !h.dir && !h.spare_dir,
        "cleared: %d descriptors and the folders' closed", n);
  }
}

int main (void)
{
#ifdef __linux__
  ok (mkdtemp (dir) != NULL, "tempdir");
  snprintf (mine, sizeof mine, "%s/mine", dir);
  snprintf (spare, sizeof spare, "%s/mine/.spare", dir);
  snprintf (peer, sizeof peer, "%s/peer", dir);
  ok (mkdir (mine, 0700) == 0 && mkdir (spare, 0700) == 0 && mkdir (peer, 0700) == 0, "folders");
  test_held ();
  ok (empty_rmdir (spare) == 0 && empty_rmdir (mine) == 0 && empty_rmdir (peer) == 0 && rmdir (dir) == 0,
      "cleaned up");
#else
  ok (1, "held spares need Linux's no-replace rename: nothing to test here");
#endif
  return done_testing ();
}
