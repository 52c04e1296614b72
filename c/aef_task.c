/* aef_task.c - AnyEvent::Task: JSON-stream splitter, worker loop,
 * descriptor hygiene. */
#include "aef_task.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { BETWEEN__ = 0, IN_MSG__ = 1, IN_STR__ = 2, IN_ESC__ = 3 };

void aef_task_split_init(aef_task_split *s, size_t max)
{
  memset(s, 0, sizeof *s);
  s->max = max ? max : AEF_TASK_MSG_MAX;
  aef_buf_init(&s->buf, s->max + AEF_TASK_CHUNK);
}

int aef_task_split_feed(aef_task_split *s, const void *p, size_t n)
{
  if (n > AEF_TASK_CHUNK)
    return -EMSGSIZE;
  return aef_buf_append(&s->buf, p, n);
}

size_t aef_task_split_pending(const aef_task_split *s)
{
  return aef_buf_size(&s->buf) - s->handed;
}

int aef_task_split_next(aef_task_split *s, const uint8_t **msg, size_t *len)
{
  const uint8_t *p;
  size_t n, i;

  if (s->err)
    return s->err;

  if (s->handed) {
    aef_buf_consume(&s->buf, s->handed);
    s->scan -= s->handed;
    s->start -= s->state != BETWEEN__ ? s->handed : 0;
    s->handed = 0;
  }

  n = aef_buf_size(&s->buf);
  if (n == 0)
    return 0;
  p = aef_buf_ptr(&s->buf);

  for (i = s->scan; i < n; i++) {
    uint8_t c = p[i];

    switch (s->state) {
    case BETWEEN__:
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        continue;
      if (c != '[')
        return s->err = -EPROTO;
      s->state = IN_MSG__;
      s->depth = 1;
      s->start = i;
      continue;

    case IN_MSG__:
      if (c == '"')
        s->state = IN_STR__;
      else if (c == '[' || c == '{')
        s->depth++;
      else if ((c == ']' || c == '}') && --s->depth == 0) {
        if (i + 1 - s->start > s->max)
          return s->err = -EMSGSIZE;
        *msg = p + s->start;
        *len = i + 1 - s->start;
        s->handed = s->scan = i + 1;
        s->state = BETWEEN__;
        return 1;
      }
      continue;

    case IN_STR__:
      /* the bulk of a message: skip to the next quote or backslash */
      while (i < n && p[i] != '"' && p[i] != '\\')
        i++;
      if (i == n)
        break;
      s->state = p[i] == '"' ? IN_MSG__ : IN_ESC__;
      continue;

    default: /* IN_ESC__: the escaped byte cannot end the string */
      s->state = IN_STR__;
      continue;
    }
  }

  if (s->state == BETWEEN__) {
    /* only whitespace since the last message */
    aef_buf_consume(&s->buf, n);
    s->scan = 0;
    return 0;
  }

  if (n - s->start > s->max)
    return s->err = -EMSGSIZE;

  aef_buf_consume(&s->buf, s->start);
  s->scan = n - s->start;
  s->start = 0;
  return 0;
}

void aef_task_split_free(aef_task_split *s)
{
  aef_buf_free(&s->buf);
  s->scan = s->start = s->handed = 0;
  s->state = BETWEEN__;
  s->depth = 0;
  s->err = 0;
}

/* ------------------------------------------------------------------------ */

/* _exit's address is taken when the library is loaded (a relocation of
 * writable data, not a lazily bound call): a forked child that leaves
 * through aef_task_exit looks no symbol up, which would write to pages it
 * still shares with its parent */
static void (*volatile exit__)(int) = _exit;

void aef_task_exit(int status)
{
  exit__(status);
  for (;;)
    ; /* not reached */
}

static char hung_msg__[64];
static size_t hung_len__;
static struct sigaction hung_old__;

static void hung__(int sig)
{
  ssize_t r = write(2, hung_msg__, hung_len__);

  (void)sig;
  (void)r;
  aef_task_exit(1);
}

/* "Killing hung worker (PID)\n" into hung_msg__, without stdio (whose
 * formatting code a fresh worker would otherwise page in) */
static void hung_format__(long pid)
{
  static const char head[] = "Killing hung worker (";
  char digits[24];
  size_t nd = 0, len = sizeof head - 1;

  memcpy(hung_msg__, head, len);
  if (pid < 0)
    pid = 0;
  do
    digits[nd++] = (char)('0' + pid % 10);
  while ((pid /= 10) && nd < sizeof digits);
  while (nd)
    hung_msg__[len++] = digits[--nd];
  hung_msg__[len++] = ')';
  hung_msg__[len++] = '\n';
  hung_len__ = len;
}

static void arm__(aef_task_worker *w)
{
  alarm(w->alarm_secs);
  w->armed__ = 1;
}

static void disarm__(aef_task_worker *w)
{
  if (!w->armed__)
    return;
  alarm(0);
  w->armed__ = 0;
}

int aef_task_worker_init(aef_task_worker *w, int fd, unsigned alarm_secs)
{
  int fl = fcntl(fd, F_GETFL);

  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return -errno;
  w->fd = fd;
  w->alarm_secs = alarm_secs;
  w->armed__ = 0;
  aef_task_split_init(&w->split__, 0);
  if (alarm_secs) {
    struct sigaction sa;

    hung_format__((long)getpid());
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = hung__;
    sigfillset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &hung_old__);
  }
  return 0;
}

int aef_task_worker_next(aef_task_worker *w, const uint8_t **msg, size_t *len)
{
  char chunk[4096];

  for (;;) {
    int r = aef_task_split_next(&w->split__, msg, len);
    ssize_t got;

    if (r != 0)
      return r;

    /* every message of the last chunk has been handled; waiting for the
     * next chunk is not timed (an idle worker is never killed): the alarm
     * is armed once the chunk has arrived */
    disarm__(w);
    do
      got = read(w->fd, chunk, sizeof chunk);
    while (got < 0 && errno == EINTR);
    if (got > 0 && w->alarm_secs)
      arm__(w);

    if (got < 0)
      return -errno;
    if (got == 0)
      return -ECONNRESET;
    r = aef_task_split_feed(&w->split__, chunk, (size_t)got);
    if (r < 0)
      return r;
  }
}

int aef_task_worker_write(aef_task_worker *w, const void *p, size_t n)
{
  return aef_write_full(w->fd, p, n);
}

void aef_task_worker_free(aef_task_worker *w)
{
  disarm__(w);
  if (w->alarm_secs)
    sigaction(SIGALRM, &hung_old__, NULL);
  aef_task_split_free(&w->split__);
}

/* ------------------------------------------------------------------------ */

static int null_fd__(void)
{
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

  return fd < 0 ? -errno : fd;
}

static int release_one__(int null, int fd)
{
  int rc;

  if (fd < 0 || fd == null)
    return 0;
  while ((rc = aef_dup_cloexec(null, fd)) == -EINTR)
    ;
  return rc;
}

int aef_task_release_fds(const int *fds, size_t n)
{
  int null = null_fd__(), rc = 0;
  size_t i;

  if (null < 0)
    return null;
  for (i = 0; i < n; i++) {
    int r = release_one__(null, fds[i]);

    if (r < 0 && rc == 0)
      rc = r;
  }
  close(null);
  return rc;
}

static int kept__(int fd, const int *keep, size_t n)
{
  size_t i;

  if (fd <= 2)
    return 1;
  for (i = 0; i < n; i++)
    if (keep[i] == fd)
      return 1;
  return 0;
}

int aef_task_release_all_but(const int *keep, size_t n)
{
  int null = null_fd__(), rc = 0, *fds = NULL;
  size_t nfds = 0, cap = 0, i;
  DIR *d;

  if (null < 0)
    return null;

  /* list first, then release: the listing's own descriptor must be gone */
  d = opendir("/proc/self/fd");
  if (d) {
    struct dirent *e;
    int self = dirfd(d);

    while ((e = readdir(d))) {
      char *end;
      long fd = strtol(e->d_name, &end, 10);

      if (*end || end == e->d_name || fd == self || fd == null
          || kept__((int)fd, keep, n))
        continue;
      if (nfds == cap) {
        int *nf = realloc(fds, (cap = cap ? cap * 2 : 64) * sizeof *fds);

        if (!nf) {
          rc = -ENOMEM;
          closedir(d);
          goto cleanup;
        }
        fds = nf;
      }
      fds[nfds++] = (int)fd;
    }
    closedir(d);
  } else {
    long max = sysconf(_SC_OPEN_MAX), fd;

    if (max < 0 || max > 65536)
      max = 65536;
    for (fd = 3; fd < max; fd++)
      if (fd != null && !kept__((int)fd, keep, n) && fcntl((int)fd, F_GETFD) >= 0) {
        int r = release_one__(null, (int)fd);

        if (r < 0 && rc == 0)
          rc = r;
      }
  }

  /* -EBADF: a listed number that is gone by now, or one the process may
   * not use (a tool such as valgrind reserves descriptors of its own and
   * lists them): nothing of ours to release */
  for (i = 0; i < nfds; i++) {
    int r = release_one__(null, fds[i]);

    if (r < 0 && r != -EBADF && rc == 0)
      rc = r;
  }

cleanup:
  free(fds);
  close(null);
  return rc;
}

/* ------------------------------------------------------------------------ */

int aef_task_hand_send(int sock, int fd, uint64_t n)
{
  int rc = aef_fd_send(sock, fd);

  return rc < 0 ? rc : aef_write_full(sock, &n, sizeof n);
}

int aef_task_hand_recv(int sock, int *fd_out, uint64_t *n_out)
{
  uint64_t n;
  int fd, rc = aef_fd_recv(sock, &fd);

  if (rc < 0)
    return rc;
  rc = aef_read_full(sock, &n, sizeof n);
  if (rc <= 0) {
    close(fd);
    return rc < 0 ? rc : -ECONNRESET;
  }
  *fd_out = fd;
  *n_out = n;
  return 0;
}

static struct sigaction reap_old__;
static int reap_saved__;

int aef_task_autoreap_on(void)
{
  struct sigaction sa, old;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = SA_NOCLDWAIT;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGCHLD, &sa, &old) < 0)
    return -errno;
  if (!reap_saved__) {
    reap_old__ = old;
    reap_saved__ = 1;
  }
  return 0;
}

int aef_task_autoreap_off(void)
{
  if (!reap_saved__)
    return 0;
  if (sigaction(SIGCHLD, &reap_old__, NULL) < 0)
    return -errno;
  reap_saved__ = 0;
  return 0;
}

/* Put the allocator's free lists in order once, in the forker: otherwise
 * the first allocations in each worker sort the chunks freed so far into
 * their bins, writing to pages all over the heap that every worker then
 * copies (some 5 page faults per worker with glibc). A large request makes
 * the allocator do it; freed, it goes back to the top of the heap. */
static void settle_heap__(void)
{
  free(malloc(AEF_TASK_CHUNK));
}

/* 1 when sock is readable (a connection, or end-of-file), 0 when ms went
 * by (ms < 0: never), -errno */
static int readable__(int sock, int ms)
{
  struct pollfd p;
  int r;

  p.fd = sock;
  p.events = POLLIN;
  p.revents = 0;
  while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
    ;
  return r < 0 ? -errno : r > 0;
}

/* in a child of the forker: give up what belongs to the forker (the ends
 * of the spares' pairs, the hand-over socket) */
static void child_leaves__(int hand, const int *spares, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    close(spares[i]);
  (void)aef_task_release_fds(&hand, 1);
}

/* fork one spare with a socket pair of its own: in the forker, its end
 * of the pair is added to spares; in the spare, *mine is its end (the
 * forker's ends closed, hand given up). Returns what fork_fn returns
 * (-1 with errno on failure, nothing left open). */
static pid_t spare_fork__(int hand, pid_t (*fork_fn)(void *), void *arg,
                          int *spares, size_t *nspares, int *mine)
{
  int sv[2], rc = aef_socketpair(sv);
  pid_t pid;

  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  pid = fork_fn(arg);
  if (pid < 0) {
    rc = errno;
    close(sv[0]);
    close(sv[1]);
    errno = rc;
    return -1;
  }
  if (pid > 0) {
    close(sv[1]);
    spares[(*nspares)++] = sv[0];
    return pid;
  }
  close(sv[0]);
  child_leaves__(hand, spares, *nspares);
  *nspares = 0;
  *mine = sv[1];
  return 0;
}

static void fork_failed__(int err)
{
  char msg[160];
  int len = snprintf(msg, sizeof msg, "fork failed: %s\n", strerror(err));

  if (len > 0)
    (void)aef_write_full(2, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
}

int aef_task_forker_next(int hand, pid_t (*fork_fn)(void *), void *arg,
                         int *fd_out, uint64_t *n_out)
{
  int spares[AEF_TASK_SPARES_MAX];
  size_t nspares = 0, want = 1;
  int rc = aef_task_autoreap_on();

  settle_heap__();

  while (rc == 0) {
    uint64_t n;
    int fd, r, mine = -1;
    pid_t pid;

    if (nspares < want) {
      /* a connection that waits comes first; else one more spare */
      rc = readable__(hand, 0);
      if (rc < 0)
        break;
      if (rc == 0) {
        pid = spare_fork__(hand, fork_fn, arg, spares, &nspares, &mine);
        if (pid == 0) {
          /* the spare: wait for a connection, or for the forker to let go */
          rc = aef_task_hand_recv(mine, fd_out, n_out);
          close(mine);
          aef_task_autoreap_off();
          return rc;
        }
        if (pid < 0)
          want = nspares; /* no more tries before the next miss */
        continue;
      }
    } else if (nspares > 1) {
      /* idle for a while: one spare fewer */
      rc = readable__(hand, AEF_TASK_SPARE_IDLE_MS);
      if (rc < 0)
        break;
      if (rc == 0) {
        close(spares[--nspares]);
        want = nspares;
        continue;
      }
    }

    rc = aef_task_hand_recv(hand, &fd, &n);
    if (rc < 0)
      break;

    /* the newest spare takes it (one that died meanwhile refuses: EPIPE) */
    r = -1;
    while (nspares > 0 && r < 0) {
      int s = spares[--nspares];

      r = aef_task_hand_send(s, fd, n);
      close(s);
    }
    if (r == 0) {
      close(fd);
      continue;
    }

    /* no spare: this one waits for its fork; keep one more from now on */
    if (want < AEF_TASK_SPARES_MAX)
      want++;
    pid = fork_fn(arg);
    if (pid == 0) {
      child_leaves__(hand, spares, nspares);
      aef_task_autoreap_off();
      *fd_out = fd;
      *n_out = n;
      return 0;
    }
    if (pid < 0)
      fork_failed__(errno);
    close(fd);
  }
  while (nspares > 0)
    close(spares[--nspares]);
  aef_task_autoreap_off();
  return rc;
}
