/*
 * svc_ready.c - the physical limit for an IPC::Manager service start-up.
 *
 * What ipcm_service must do at the least, in C: a parent with KB of dirty
 * private memory (a Perl program is mostly that) forks; the child writes to
 * PAGES of those pages (each write to a page still shared with the parent
 * is a copy-on-write fault), then writes its pidfile by rename into the
 * route directory; the parent writes to PPAGES other pages (optional, 0 by
 * default: what a Perl parent writes to after the fork until it waits)
 * and sleeps on an inotify watch of that directory until the pidfile is
 * there. The child then exits and is reaped
 * (not timed). Also times PAGES copy-on-write faults on their own, in a
 * child that does nothing else, to give the cost of one fault on this host.
 * Prints key=value lines: ready_ms (median), fork_ms (median time fork
 * takes in the parent), cow_us (median microseconds per fault), n, kb,
 * pages, ppages.
 *
 *   cc -O2 -o svc_ready svc_ready.c && ./svc_ready 30 8192 200 [PPAGES]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/wait.h>

static double now__(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp__(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

static double median__(double *v, long n)
{
  qsort(v, (size_t)n, sizeof *v, cmp__);
  return v[n / 2];
}

/* the child's part: touch pages, then the pidfile by rename */
static void child__(char *mem, long pages, const char *dir)
{
  char tmp[PATH_MAX], path[PATH_MAX], buf[32];
  long i;
  int fd, len;

  for (i = 0; i < pages; i++)
    mem[i * 4096] = 2;
  snprintf(tmp, sizeof tmp, "%s/svc.pid.pend", dir);
  snprintf(path, sizeof path, "%s/svc.pid", dir);
  len = snprintf(buf, sizeof buf, "%ld", (long)getpid());
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, buf, (size_t)len) != len || close(fd) < 0 || rename(tmp, path) < 0)
    _exit(1);
  _exit(0);
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? atol(argv[1]) : 30;
  long kb = argc > 2 ? atol(argv[2]) : 8192;
  long pages = argc > 3 ? atol(argv[3]) : 200;
  long ppages = argc > 4 ? atol(argv[4]) : 0;
  double *ready, *forkt, *cow;
  char dir[] = "/tmp/svc_ready_XXXXXX", path[PATH_MAX], ev[4096];
  char *mem;
  long r;

  if (n <= 0 || kb <= 0 || pages < 0 || ppages < 0 || (pages + ppages) * 4 > kb) {
    fprintf(stderr, "usage: %s N KB PAGES [PPAGES] ((PAGES + PPAGES) * 4 <= KB)\n", argv[0]);
    return 2;
  }
  mem = malloc((size_t)kb * 1024);
  ready = calloc((size_t)n, sizeof *ready);
  forkt = calloc((size_t)n, sizeof *forkt);
  cow = calloc((size_t)n, sizeof *cow);
  if (!mem || !ready || !forkt || !cow || !mkdtemp(dir)) {
    perror("setup");
    return 1;
  }
  memset(mem, 1, (size_t)kb * 1024);
  snprintf(path, sizeof path, "%s/svc.pid", dir);

  for (r = 0; r < n; r++) {
    int wfd = inotify_init1(IN_CLOEXEC), status, p[2];
    struct pollfd pfd;
    double t0, t1, dt;
    pid_t pid;

    if (wfd < 0 || inotify_add_watch(wfd, dir, IN_MOVED_TO) < 0) {
      perror("inotify");
      return 1;
    }
    t0 = now__();
    pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (!pid)
      child__(mem, pages, dir);
    forkt[r] = now__() - t0;
    {
      long i;

      for (i = pages; i < pages + ppages; i++)
        mem[i * 4096] = 4;
    }
    pfd.fd = wfd;
    pfd.events = POLLIN;
    while (access(path, F_OK) < 0) {
      if (poll(&pfd, 1, 10000) <= 0 || read(wfd, ev, sizeof ev) < 0) {
        fprintf(stderr, "no pidfile\n");
        return 1;
      }
    }
    t1 = now__();
    ready[r] = t1 - t0;
    waitpid(pid, &status, 0);
    unlink(path);
    close(wfd);

    /* the faults alone: a child touching the pages, timing itself */
    if (pipe(p) < 0 || (pid = fork()) < 0) {
      perror("fork");
      return 1;
    }
    if (!pid) {
      long i;

      t0 = now__();
      for (i = 0; i < pages; i++)
        mem[i * 4096] = 3;
      dt = now__() - t0;
      _exit(write(p[1], &dt, sizeof dt) == sizeof dt ? 0 : 1);
    }
    close(p[1]);
    if (read(p[0], &dt, sizeof dt) != sizeof dt)
      dt = 0;
    close(p[0]);
    waitpid(pid, &status, 0);
    cow[r] = pages ? dt / pages : 0;
  }
  rmdir(dir);
  printf("ready_ms=%.2f\nfork_ms=%.2f\ncow_us=%.1f\nn=%ld\nkb=%ld\npages=%ld\nppages=%ld\n",
         median__(ready, n) * 1e3, median__(forkt, n) * 1e3, median__(cow, n) * 1e6, n, kb, pages,
         ppages);
  return 0;
}
