/* filepingpong.c - the round-trip limit of message files: two processes
 * bounce a small message as files, the way the MessageFiles bus does it:
 * the sender writes NAME.pend in the receiver's folder and renames it to
 * NAME.ready; the receiver, woken by inotify, lists its folder, reads and
 * removes every .ready file. Linux (inotify).
 * With the third argument "spare" it moves files as the bus does with its
 * spares (see IPC::Manager::Client::MessageFiles): the receiver takes the
 * file the inotify event names (no listing), reads it and renames it into
 * its folder's .spare, keeping it open; the sender writes over that spare
 * through the open descriptor, closes it and renames it to NAME.ready in
 * the other folder (no file created or removed, no open to send).
 * usage: filepingpong DIR N [spare]   (DIR: an existing folder, e.g. the
 * bus's temporary folder) prints the lines roundtrips=N, secs=S, rate=R */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* one message file into folder to, or exit */
static void put (const char *to, long seq)
{
  char pend[4200], ready[4200];
  int fd;

  snprintf (pend, sizeof pend, "%s/%ld.pend", to, seq);
  snprintf (ready, sizeof ready, "%s/%ld.ready", to, seq);
  fd = open (pend, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, "{\"ping\":\"pong\"}", 15) != 15 || close (fd) < 0
      || rename (pend, ready) < 0)
    exit (1);
}

/* spare mode: the file last taken from this process's folder (its path
 * in .spare, and its descriptor, kept open), written over and renamed to
 * NAME.ready in folder to */
static char spare[4200];
static int spare_fd = -1;

static void spare_put (const char *to, long seq)
{
  char ready[4200];

  snprintf (ready, sizeof ready, "%s/%ld.ready", to, seq);
  if (spare_fd < 0 || pwrite (spare_fd, "{\"ping\":\"pong\"}", 15, 0) != 15 || close (spare_fd) < 0
      || renameat2 (AT_FDCWD, spare, AT_FDCWD, ready, RENAME_NOREPLACE) < 0)
    exit (1);
  spare_fd = -1;
}

/* spare mode: waits on the watch for one file renamed into dir, reads it
 * and keeps it (open) as the spare dir/.spare/NAME */
static void spare_take (int watch, const char *dir)
{
  char ev[4096] __attribute__ ((aligned (8))), path[4200], buf[256];
  struct inotify_event *e = (struct inotify_event *)ev;
  int fd;

  if (read (watch, ev, sizeof ev) < (ssize_t)sizeof *e || !e->len)
    exit (1);
  snprintf (path, sizeof path, "%s/%s", dir, e->name);
  snprintf (spare, sizeof spare, "%s/.spare/%s", dir, e->name);
  fd = open (path, O_RDWR | O_CLOEXEC);
  if (fd < 0 || read (fd, buf, sizeof buf) < 0
      || renameat2 (AT_FDCWD, path, AT_FDCWD, spare, RENAME_NOREPLACE) < 0)
    exit (1);
  if (spare_fd >= 0)
    close (spare_fd);
  spare_fd = fd;
}

/* waits on the watch until at least one .ready file was taken from dir */
static void take (int watch, const char *dir)
{
  char ev[4096], path[4200], buf[256];

  for (;;) {
    DIR *d = opendir (dir);
    struct dirent *e;
    int got = 0;

    if (!d)
      exit (1);
    while ((e = readdir (d))) {
      size_t l = strlen (e->d_name);
      int fd;

      if (l < 6 || strcmp (e->d_name + l - 6, ".ready"))
        continue;
      snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || read (fd, buf, sizeof buf) < 0)
        exit (1);
      close (fd);
      unlink (path);
      got++;
    }
    closedir (d);
    if (got)
      return;
    if (read (watch, ev, sizeof ev) <= 0)
      exit (1);
  }
}

static int watch_on (const char *dir)
{
  int fd = inotify_init1 (IN_CLOEXEC);

  if (fd < 0 || inotify_add_watch (fd, dir, IN_MOVED_TO | IN_ONLYDIR) < 0)
    exit (1);
  return fd;
}

int main (int argc, char **argv)
{
  long n = argc > 2 ? atol (argv[2]) : 2000, i;
  int spares = argc > 3 && !strcmp (argv[3], "spare");
  void (*put_f) (const char *, long) = spares ? spare_put : put;
  void (*take_f) (int, const char *) = spares ? spare_take : take;
  char a[4200], b[4200], sa[4300], sb[4300];
  int wa, wb, st;
  double t;
  pid_t pid;

  if (argc < 2) {
    fprintf (stderr, "usage: %s DIR [N]\n", argv[0]);
    return 2;
  }
  snprintf (a, sizeof a, "%s/ping", argv[1]);
  snprintf (b, sizeof b, "%s/pong", argv[1]);
  snprintf (sa, sizeof sa, "%s/.spare", a);
  snprintf (sb, sizeof sb, "%s/.spare", b);
  if (mkdir (a, 0700) < 0 || mkdir (b, 0700) < 0 || mkdir (sa, 0700) < 0 || mkdir (sb, 0700) < 0)
    return 1;
  wa = watch_on (a);
  wb = watch_on (b);

  pid = fork ();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    for (i = 0; i < n + 1; i++) {
      take_f (wb, b);
      put_f (a, i);
    }
    if (spares)
      unlink (spare);
    _exit (0);
  }

  put (b, -1); /* warm up: both processes running (and a first spare) */
  take_f (wa, a);

  t = now ();
  for (i = 0; i < n; i++) {
    put_f (b, i);
    take_f (wa, a);
  }
  t = now () - t;
  waitpid (pid, &st, 0);
  if (spares)
    unlink (spare);
  rmdir (sa);
  rmdir (sb);
  rmdir (a);
  rmdir (b);
  printf ("roundtrips=%ld\nsecs=%f\nrate=%f\n", n, t, n / t);
  return 0;
}
