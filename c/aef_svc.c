/* Services: libevent wait step, transport helpers, random ids. See aef_svc.h. */
#include "aef_svc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <limits.h>
#include <event2/event.h>
#ifdef __linux__
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/random.h>
#endif

/* ------------------------------------------------------------------------ */
/* random ids */

static int random_bytes__(uint8_t *p, size_t n)
{
  size_t got = 0;
  int fd = -1, r = 0;

#ifdef __linux__
  while (got < n) {
    ssize_t k = getrandom(p + got, n - got, 0);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    got += (size_t)k;
  }
  if (got == n)
    return 0;
#endif
  fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r = -errno;
    goto cleanup;
  }
  r = aef_read_full(fd, p + got, n - got);
cleanup:
  if (fd >= 0)
    close(fd);
  return r;
}

/* ids draw from a pool of kernel random bytes refilled POOL__ bytes at a
 * time (one system call per 32 ids instead of one per id). A forked child
 * empties its copy of the pool (pthread_atfork), so parent and child never
 * hand out the same bytes; without the fork hook there is no pool. */
#define POOL__ 512
static uint8_t pool__[POOL__];
static size_t pool_left__;
static int pool_state__; /* 0: hook not tried, 1: hooked, -1: no pool */
static pthread_mutex_t pool_mu__ = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pool_once__ = PTHREAD_ONCE_INIT;

static void pool_prepare__(void) { pthread_mutex_lock(&pool_mu__); }
static void pool_parent__(void) { pthread_mutex_unlock(&pool_mu__); }
static pid_t pid__; /* aef_svc_getpid's, 0 when not known */

static void pool_child__(void)
{
  pid__ = 0;
  pool_left__ = 0;
  memset(pool__, 0, sizeof pool__);
  pthread_mutex_unlock(&pool_mu__);
}

static void pool_hook__(void)
{
  pool_state__ = pthread_atfork(pool_prepare__, pool_parent__, pool_child__) ? -1 : 1;
}

static int pooled_bytes__(uint8_t *p, size_t n)
{
  int r = 0;

  pthread_once(&pool_once__, pool_hook__);
  if (pool_state__ < 0 || n > POOL__)
    return random_bytes__(p, n);
  pthread_mutex_lock(&pool_mu__);
  if (pool_left__ < n) {
    r = random_bytes__(pool__, POOL__);
    if (r)
      goto cleanup;
    pool_left__ = POOL__;
  }
  memcpy(p, pool__ + POOL__ - pool_left__, n);
  memset(pool__ + POOL__ - pool_left__, 0, n); /* handed out once */
  pool_left__ -= n;
cleanup:
  pthread_mutex_unlock(&pool_mu__);
  return r;
}

pid_t aef_svc_getpid(void)
{
  pthread_once(&pool_once__, pool_hook__);
  if (pool_state__ < 0)
    return getpid();
  if (!pid__)
    pid__ = getpid();
  return pid__;
}

int aef_svc_uuid(char out[37])
{
  static const char hex[] = "0123456789ABCDEF";
  uint8_t b[16];
  int r = pooled_bytes__(b, sizeof b), i, o = 0;

  if (r)
    return r;
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  for (i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = 0;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* framing */

int aef_svc_frame_next(const uint8_t *p, size_t len, size_t max, size_t *payload_len)
{
  uint32_t n;

  if (len < 4)
    return 0;
  n = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
  if (n > max)
    return -EMSGSIZE;
  if (len - 4 < n)
    return 0;
  *payload_len = n;
  return 1;
}

int aef_svc_frame_put(aef_buf *b, const void *payload, size_t len)
{
  uint8_t h[4];
  int r;

  if (len > AEF_SVC_FRAME_MAX)
    return -EMSGSIZE;
  h[0] = (uint8_t)(len >> 24);
  h[1] = (uint8_t)(len >> 16);
  h[2] = (uint8_t)(len >> 8);
  h[3] = (uint8_t)len;
  r = aef_buf_reserve(b, 4 + len);
  if (r)
    return r;
  aef_buf_append(b, h, 4);      /* cannot fail after the reserve */
  aef_buf_append(b, payload, len);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* message text */

void aef_svc_stamp_next(aef_svc_stamp *st, int64_t sec, long usec)
{
  st->ord = (sec == st->sec && usec == st->usec) ? st->ord + 1 : 0;
  st->sec = sec;
  st->usec = usec;
}

int aef_svc_stamp_now(aef_svc_stamp *st)
{
  struct timeval tv;

  if (gettimeofday(&tv, NULL))
    return -errno;
  aef_svc_stamp_next(st, (int64_t)tv.tv_sec, (long)tv.tv_usec);
  return 0;
}

long aef_svc_json_str_size(const char *s, size_t len)
{
  size_t i, n = len + 2;

  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];

    if (c >= 0x80)
      return -EINVAL;
    if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
      n += 1;
    else if (c < 0x20)
      n += 5;
  }
  return (long)n;
}

long aef_svc_json_str(char *dst, const char *s, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  char *p = dst;
  size_t i;

  *p++ = '"';
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];

    if (c >= 0x80)
      return -EINVAL;
    if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = (char)c;
    }
    else if (c < 0x20) {
      *p++ = '\\';
      switch (c) {
      case '\b': *p++ = 'b'; break;
      case '\f': *p++ = 'f'; break;
      case '\n': *p++ = 'n'; break;
      case '\r': *p++ = 'r'; break;
      case '\t': *p++ = 't'; break;
      default:
        *p++ = 'u';
        *p++ = '0';
        *p++ = '0';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 15];
      }
    }
    else
      *p++ = (char)c;
  }
  *p++ = '"';
  return (long)(p - dst);
}

/* v in decimal at p (at most 20 characters): the end */
static char *put_u64__(char *p, uint64_t v)
{
  char t[20];
  int n = 0;

  do
    t[n++] = (char)('0' + v % 10);
  while ((v /= 10));
  while (n)
    *p++ = t[--n];
  return p;
}

static char *put__(char *p, const char *s, size_t l)
{
  memcpy(p, s, l);
  return p + l;
}

#define PUT_LIT__(p, lit) put__((p), (lit), sizeof (lit) - 1)

long aef_svc_msg_head(char *dst, size_t room, const char *from, size_t fl, const char *to, size_t tl)
{
  char *p = dst;

  if (fl > room || tl > room || room - fl - tl < AEF_SVC_MSG_HEAD)
    return -EMSGSIZE;
  p = PUT_LIT__(p, "{\"from\":");
  p = put__(p, from, fl);
  p = PUT_LIT__(p, ",\"to\":");
  p = put__(p, to, tl);
  p = PUT_LIT__(p, ",\"content\":");
  return (long)(p - dst);
}

long aef_svc_msg_tail(char *dst, size_t room, const aef_svc_stamp *st, const char *id)
{
  char *p = dst;
  long usec = st->usec;
  int i;

  if (room < AEF_SVC_MSG_TAIL)
    return -EMSGSIZE;
  p = PUT_LIT__(p, ",\"stamp\":");
  if (st->sec >= 0)
    p = put_u64__(p, (uint64_t)st->sec);
  else {
    /* before the epoch: sec + usec/1e6 is -(|sec| - 1 + (1e6 - usec)/1e6) */
    uint64_t s = (uint64_t)0 - (uint64_t)st->sec;
    *p++ = '-';
    if (usec) {
      s--;
      usec = 1000000 - usec;
    }
    p = put_u64__(p, s);
  }
  *p++ = '.';
  for (i = 5; i >= 0; i--, usec /= 10)
    p[i] = (char)('0' + usec % 10);
  p += 6;
  p = PUT_LIT__(p, ",\"stamp_ord\":");
  p = put_u64__(p, st->ord);
  p = PUT_LIT__(p, ",\"id\":\"");
  p = put__(p, id, 36);
  p = PUT_LIT__(p, "\"}");
  return (long)(p - dst);
}

/* ------------------------------------------------------------------------ */
/* datagrams */

static int dgram_recv__(int fd, aef_buf *b, int probe_empty);

int aef_svc_dgram_recv(int fd, aef_buf *b)
{
  return dgram_recv__(fd, b, 1);
}

int aef_svc_dgram_recv_more(int fd, aef_buf *b)
{
  return dgram_recv__(fd, b, 0);
}

static int dgram_recv__(int fd, aef_buf *b, int probe_empty)
{
  int pending = 0;
  ssize_t k;
  uint8_t probe;

  aef_buf_consume(b, aef_buf_size(b));
  for (;;) {
    /* the size of the next datagram, as the kernel queued it */
    if (ioctl(fd, FIONREAD, &pending) < 0)
      return -errno;
    if (pending == 0 && !probe_empty)
      return -EAGAIN;
    if (pending == 0) {
      /* either nothing queued or an empty datagram: peek to tell */
      k = recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
      if (k < 0)
        return errno == EINTR ? (errno = 0, -EINTR) : -errno;
      if (k > 0)
        continue; /* raced with an arrival: measure again */
      k = recv(fd, &probe, 1, MSG_DONTWAIT);
      return k < 0 ? -errno : 0;
    }
    if ((size_t)pending > AEF_SVC_DGRAM_MAX || (size_t)pending > b->max) {
      k = recv(fd, &probe, 1, MSG_DONTWAIT | MSG_TRUNC);
      return k < 0 ? -errno : -EMSGSIZE;
    }
    {
      int r = aef_buf_reserve(b, (size_t)pending);
      if (r)
        return r;
    }
    k = recv(fd, b->data + b->len, (size_t)pending, MSG_DONTWAIT | MSG_TRUNC);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if ((size_t)k > (size_t)pending)
      return -EMSGSIZE; /* cannot happen: FIONREAD sized it */
    b->len += (size_t)k;
    return 0;
  }
}

/* ------------------------------------------------------------------------ */
/* directory watches */

int aef_svc_watch_open(const char *dir, int peers)
{
#ifdef __linux__
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), r;
  /* messages arrive by rename only; peers come and go in every way */
  uint32_t mask = IN_MOVED_TO | IN_ONLYDIR;

  if (fd < 0)
    return -errno;
  if (peers)
    mask |= IN_CREATE | IN_DELETE | IN_MOVED_FROM;
  else
    mask |= IN_ATTRIB; /* the folder's own times: see aef_svc_files_take_announced */
  if (inotify_add_watch(fd, dir, mask) < 0) {
    r = -errno;
    close(fd);
    return r;
  }
  return fd;
#else
  (void)dir; (void)peers;
  return -ENOSYS;
#endif
}

int aef_svc_watch_drain(int fd)
{
  char buf[4096];
  int n = 0;

  for (;;) {
    ssize_t k = read(fd, buf, sizeof buf);
    if (k > 0) {
      n++;
#ifdef __linux__
      /* a read that left room for another whole event took them all */
      if ((size_t)k + sizeof (struct inotify_event) + NAME_MAX + 1 <= sizeof buf)
        return n;
#endif
      continue;
    }
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return -errno;
    return n;
  }
}

/* ------------------------------------------------------------------------ */
/* message files */

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#if defined(__linux__) && defined(RENAME_NOREPLACE)
#define AEF_SVC_SPARES 1
#endif

/* out = a "/" b[0..blen) c, within cap bytes (NUL included): 0, or
 * -ENAMETOOLONG. (Built by hand: snprintf cost more than the rest of a
 * take's user time.) */
static int path__(char *out, size_t cap, const char *a, const char *b, size_t blen, const char *c)
{
  size_t al = strlen(a), cl = strlen(c);

  if (al >= cap || blen >= cap || cl >= cap || al + 1 + blen + cl >= cap)
    return -ENAMETOOLONG;
  memcpy(out, a, al);
  out[al] = '/';
  memcpy(out + al + 1, b, blen);
  memcpy(out + al + 1 + blen, c, cl + 1);
  return 0;
}

void aef_svc_held_init(aef_svc_held *held)
{
  held->n = 0;
  held->dir_fd = held->spare_fd = -1;
  held->dir = held->spare_dir = NULL;
}

static void held_dirs_clear__(aef_svc_held *held)
{
  if (held->dir_fd >= 0)
    close(held->dir_fd);
  if (held->spare_fd >= 0)
    close(held->spare_fd);
  free(held->dir);
  free(held->spare_dir);
  held->dir_fd = held->spare_fd = -1;
  held->dir = held->spare_dir = NULL;
}

void aef_svc_held_clear(aef_svc_held *held)
{
  while (held->n)
    close(held->f[--held->n].fd);
  held_dirs_clear__(held);
}

#ifdef AEF_SVC_SPARES
/* held's descriptors of dir and spare_dir, opened unless held has them
 * already: 0, or -1 (none: paths are used) */
static int held_dirs__(aef_svc_held *held, const char *dir, const char *spare_dir)
{
  if (held->dir && !strcmp(held->dir, dir) && !strcmp(held->spare_dir, spare_dir))
    return 0;
  held_dirs_clear__(held);
  held->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  held->spare_fd = open(spare_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  held->dir = strdup(dir);
  held->spare_dir = strdup(spare_dir);
  if (held->dir_fd < 0 || held->spare_fd < 0 || !held->dir || !held->spare_dir) {
    held_dirs_clear__(held);
    return -1;
  }
  return 0;
}

/* holds fd, the spare name[0..len) of size bytes (the oldest held one is
 * closed when there is no room; fd is closed when the name does not fit) */
static void held_push__(aef_svc_held *held, int fd, size_t size, const char *name, size_t len)
{
  if (len >= sizeof held->f[0].name) {
    close(fd);
    return;
  }
  if (held->n == AEF_SVC_HELD) {
    close(held->f[0].fd);
    memmove(held->f, held->f + 1, (AEF_SVC_HELD - 1) * sizeof held->f[0]);
    held->n--;
  }
  held->f[held->n].fd = fd;
  held->f[held->n].size = size;
  memcpy(held->f[held->n].name, name, len);
  held->f[held->n].name[len] = 0;
  held->n++;
}

/* the held descriptor of the spare name (no longer held), its size in
 * *size; -1 when it is not held. The last one held is looked at first:
 * the one a sender uses next. */
static int held_pop__(aef_svc_held *held, const char *name, size_t *size)
{
  size_t i = held->n;

  while (i--) {
    if (!strcmp(held->f[i].name, name)) {
      int fd = held->f[i].fd;

      *size = held->f[i].size;
      memmove(held->f + i, held->f + i + 1, (held->n - i - 1) * sizeof held->f[0]);
      held->n--;
      return fd;
    }
  }
  return -1;
}

/* writes data[0..len) at the start of fd: 0 or -errno */
static int pwrite_all__(int fd, const void *data, size_t len)
{
  size_t done = 0;

  while (done < len) {
    ssize_t k = pwrite(fd, (const char *)data + done, len - done, (off_t)done);

    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return -errno;
    if (k == 0)
      return -EIO;
    done += (size_t)k;
  }
  return 0;
}

/* writes data into the spare spare_dir/name (path: its path) and renames
 * it to ready: 0, -errno with *step 2 or 3 (the spare removed), or 1 when
 * the spare cannot be opened, or was held but is no longer there */
static int spare_put__(const char *spare_dir, const char *name, const char *path, aef_svc_held *held,
                       const char *ready, const void *data, size_t len, int *step)
{
  size_t size = 0;
  int fd = held ? held_pop__(held, name, &size) : -1, was_held = fd >= 0, r;
  /* (named relative to the spare folder's descriptor when held has it) */
  int sfd = held && held->spare_dir && !strcmp(held->spare_dir, spare_dir) ? held->spare_fd : -1;
  const char *at = sfd >= 0 ? name : path;
  struct stat st;

  if (sfd < 0)
    sfd = AT_FDCWD;
  if (!was_held) {
    fd = openat(sfd, at, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      return 1;
  }
  *step = 2;
  /* written over what the spare held (no truncation to nothing first: the
   * page and block it has are reused), then cut to the new length when
   * the old contents were longer (a held spare's size is known) */
  r = pwrite_all__(fd, data, len);
  if (!r && !was_held) {
    if (fstat(fd, &st) < 0)
      r = -errno;
    else
      size = (size_t)st.st_size;
  }
  if (!r && size > len && ftruncate(fd, (off_t)len) < 0)
    r = -errno;
  if (close(fd) < 0 && !r)
    r = -errno;
  if (!r) {
    *step = 3;
    if (renameat2(sfd, at, AT_FDCWD, ready, RENAME_NOREPLACE) == 0)
      return 0;
    r = -errno;
    /* a held spare whose folder was emptied meanwhile (a reconnect): as
     * one that cannot be opened */
    if (was_held && r == -ENOENT && faccessat(sfd, at, F_OK, 0) < 0 && errno == ENOENT)
      return 1;
  }
  unlinkat(sfd, at, 0);
  return r;
}
#endif

int aef_svc_file_put(const char *dir, const char *name, const void *data, size_t len,
                     const char *spare_dir, const char *spare, aef_svc_held *held, int *step)
{
  char pend[PATH_MAX], ready[PATH_MAX];
  size_t nl = strlen(name);
  int fd = -1, r = 0, made = 0;

  *step = 1;
  r = path__(ready, sizeof ready, dir, name, nl, ".ready");
  if (r)
    goto cleanup;
#ifdef AEF_SVC_SPARES
  if (spare_dir && spare) {
    char path[PATH_MAX];

    r = path__(path, sizeof path, spare_dir, spare, strlen(spare), "");
    if (!r)
      r = spare_put__(spare_dir, spare, path, held, ready, data, len, step);
    if (r <= 0)
      goto cleanup;
    r = 0; /* no usable spare: a new file */
    *step = 1;
  }
#else
  (void)spare_dir; (void)spare; (void)held;
#endif
  r = path__(pend, sizeof pend, dir, name, nl, ".pend");
  if (r)
    goto cleanup;
  fd = open(pend, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    r = -errno;
    goto cleanup;
  }
  made = 1;
  *step = 2;
  r = aef_write_file(fd, data, len);
  if (r)
    goto cleanup;
  if (close(fd) < 0) {
    fd = -1;
    r = -errno;
    goto cleanup;
  }
  fd = -1;
  *step = 3;
#if defined(__linux__) && defined(RENAME_NOREPLACE)
  if (renameat2(AT_FDCWD, pend, AT_FDCWD, ready, RENAME_NOREPLACE) == 0) {
    made = 0;
    goto cleanup;
  }
  if (errno != EINVAL && errno != ENOSYS) {
    r = -errno;
    goto cleanup;
  }
#endif
  /* no atomic no-replace rename here: look, then rename */
  {
    struct stat st;
    if (lstat(ready, &st) == 0) {
      r = -EEXIST;
      goto cleanup;
    }
  }
  if (rename(pend, ready) < 0) {
    r = -errno;
    goto cleanup;
  }
  made = 0;

cleanup:
  if (fd >= 0)
    close(fd);
  if (made)
    unlink(pend);
  return r;
}

static int cmp_names__(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What a message file's first read reads: one read takes a message up to
 * this size, on the stack (no buffer allocated). */
#define SLURP_FIRST__ 4096

/* reads the regular file at path (relative to dfd) whole, up to
 * AEF_SVC_FILE_MAX bytes: a file shorter than SLURP_FIRST__ bytes into
 * first, a longer one into b (emptied first); *data and *len say where
 * and how much. Returns the
 * open descriptor (the caller closes it or holds it), or -errno. With
 * keep (the file is then opened for writing too), sets *keepable when the
 * file may become a spare: one we may write to, its contents left as they
 * are (aef_svc_file_put writes over them) unless it is larger than
 * AEF_SVC_SPARE_KEEP, then truncated to nothing (a spare holds at most
 * that much disk). (Never truncated to nothing and then written: ext4
 * flushes such a file when it is closed, real I/O per message, which made
 * round trips ten times slower; nor truncated per message: that frees the
 * page and block the next message allocates again.) */
static int slurp__(int dfd, const char *path, uint8_t *first, aef_buf *b, int keep, int *keepable,
                   const uint8_t **data, size_t *len)
{
  int fd = openat(dfd, path, (keep ? O_RDWR : O_RDONLY) | O_CLOEXEC), r = 0;
  ssize_t k;

  if (fd < 0 && keep) { /* not ours to write to: read only, not kept */
    keep = 0;
    fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0)
    return -errno;
  do
    k = read(fd, first, SLURP_FIRST__);
  while (k < 0 && errno == EINTR);
  if (k < 0) {
    r = -errno;
    goto cleanup;
  }
  *data = first;
  *len = (size_t)k;
  /* a message file is complete before it is renamed in: a short read is
   * its end */
  if (k == SLURP_FIRST__) {
    aef_buf_consume(b, aef_buf_size(b));
    r = aef_buf_append(b, first, (size_t)k);
    for (;;) {
      size_t want = 65536, room = b->max - aef_buf_size(b);

      if (r || room == 0)
        break; /* at the bound: what fits is given */
      if (want > room)
        want = room;
      r = aef_buf_reserve(b, want);
      if (r)
        break;
      k = read(fd, b->data + b->len, want);
      if (k < 0) {
        if (errno == EINTR)
          continue;
        r = -errno;
        break;
      }
      b->len += (size_t)k;
      if ((size_t)k < want)
        break;
    }
    *data = aef_buf_ptr(b);
    *len = aef_buf_size(b);
  }
  if (!r && keep)
    *keepable = *len <= AEF_SVC_SPARE_KEEP || ftruncate(fd, 0) == 0;

cleanup:
  if (r) {
    close(fd);
    return r;
  }
  return fd;
}

/* appends a copy of name[0..len) to the list: 0 or -ENOMEM */
static int names_add__(char ***names, size_t *n, size_t *cap, const char *name, size_t len)
{
  char *c;

  if (*n == *cap) {
    size_t nc = *cap ? 2 * *cap : 16;
    char **nn = realloc(*names, nc * sizeof *nn);
    if (!nn)
      return -ENOMEM;
    *names = nn;
    *cap = nc;
  }
  c = malloc(len + 1);
  if (!c)
    return -ENOMEM;
  memcpy(c, name, len);
  c[len] = 0;
  (*names)[(*n)++] = c;
  return 0;
}

static int has_suffix__(const char *name, size_t l, const char *suffix, size_t sl)
{
  return l >= sl && !memcmp(name + l - sl, suffix, sl);
}

/* the names of dir ending in suffix: 0 or -errno */
static int names_scan__(const char *dir, const char *suffix, char ***names, size_t *n, size_t *cap)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t sl = strlen(suffix);
  int r = 0;

  if (!d)
    return -errno;
  while (!r && (e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (has_suffix__(e->d_name, l, suffix, sl))
      r = names_add__(names, n, cap, e->d_name, l);
  }
  closedir(d);
  return r;
}

/* takes the files names[0..n) of dir (sorted here), as aef_svc_files_take
 * describes: the number given to cb */
static int take_names__(const char *dir, char **names, size_t n, size_t sl, const char *spare_dir,
                        size_t spare_room, aef_svc_held *held, aef_svc_file_cb cb, void *arg)
{
  char path[PATH_MAX], spare[PATH_MAX];
  uint8_t first[SLURP_FIRST__];
  size_t i, spared_n = 0;
  aef_buf b;
  int given = 0, dfd = AT_FDCWD, sfd = AT_FDCWD;

#ifdef AEF_SVC_SPARES
  /* with held, the files are named relative to the folders' descriptors */
  if (held && spare_dir && spare_room && !held_dirs__(held, dir, spare_dir)) {
    dfd = held->dir_fd;
    sfd = held->spare_fd;
  }
#endif
  aef_buf_init(&b, AEF_SVC_FILE_MAX);
  if (n > 1)
    qsort(names, n, sizeof *names, cmp_names__);
  for (i = 0; i < n; i++) {
    size_t l = strlen(names[i]), len = 0;
    const uint8_t *data = NULL;
    const char *at = names[i];
    int keepable = 0, spared = 0, fd;

    if (dfd == AT_FDCWD) {
      if (path__(path, sizeof path, dir, names[i], l, ""))
        continue;
      at = path;
    }
    fd = slurp__(dfd, at, first, &b, spare_dir && spared_n < spare_room, &keepable, &data, &len);
    if (fd < 0)
      continue;
#ifdef AEF_SVC_SPARES
    if (keepable && l > sl) {
      if (sfd == AT_FDCWD)
        spared = !path__(spare, sizeof spare, spare_dir, names[i], l - sl, "");
      else if ((spared = l - sl < sizeof spare)) {
        memcpy(spare, names[i], l - sl);
        spare[l - sl] = 0;
      }
      spared = spared && renameat2(dfd, at, sfd, spare, RENAME_NOREPLACE) == 0;
    }
    if (spared && held && len <= AEF_SVC_SPARE_KEEP)
      held_push__(held, fd, len, names[i], l - sl);
    else
      close(fd);
#else
    (void)keepable; (void)spare; (void)held; (void)sfd;
    close(fd);
#endif
    if (spared)
      spared_n++;
    else
      unlinkat(dfd, at, 0);
    cb(arg, names[i], len ? data : (const uint8_t *)"", len, spared);
    given++;
  }
  aef_buf_free(&b);
  return given;
}

static void names_free__(char **names, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

int aef_svc_files_take(const char *dir, const char *suffix, const char *spare_dir,
                       size_t spare_room, aef_svc_held *held, aef_svc_file_cb cb, void *arg)
{
  char **names = NULL;
  size_t n = 0, cap = 0;
  int r = names_scan__(dir, suffix, &names, &n, &cap);

  if (!r)
    r = take_names__(dir, names, n, strlen(suffix), spare_dir, spare_room, held, cb, arg);
  names_free__(names, n);
  return r;
}

/* the inotify event layout (the kernel's ABI: struct inotify_event) */
#define EV_HEAD__ 16u
#define EV_MOVED_TO__ 0x00000080u
#define EV_Q_OVERFLOW__ 0x00004000u

int aef_svc_watch_names(const uint8_t *buf, size_t len, const char *suffix, aef_svc_name_cb cb,
                        void *arg)
{
  size_t off = 0, sl = strlen(suffix);
  int given = 0, overflow = 0;

  while (off < len) {
    uint32_t mask, nlen;
    const char *name;
    size_t l;

    if (len - off < EV_HEAD__)
      return -EBADMSG;
    memcpy(&mask, buf + off + 4, 4);
    memcpy(&nlen, buf + off + 12, 4);
    if (nlen > len - off - EV_HEAD__)
      return -EBADMSG;
    name = (const char *)buf + off + EV_HEAD__;
    off += EV_HEAD__ + nlen;
    if (mask & EV_Q_OVERFLOW__)
      overflow = 1;
    if (!(mask & EV_MOVED_TO__) || !nlen)
      continue;
    l = strnlen(name, nlen);
    if (l && has_suffix__(name, l, suffix, sl)) {
      cb(arg, name, l);
      given++;
    }
  }
  return overflow ? -EOVERFLOW : given;
}

typedef struct names__ {
  char **names;
  size_t n, cap;
  int r;
} names__;

static void names_cb__(void *arg, const char *name, size_t len)
{
  names__ *nl = arg;

  if (!nl->r)
    nl->r = names_add__(&nl->names, &nl->n, &nl->cap, name, len);
}

/* aef_svc_files_take_watched (list: when the events announced none, every
 * file is taken) and aef_svc_files_take_announced (list 0) */
static int take_watched__(int wfd, const char *dir, const char *suffix, const char *spare_dir,
                          size_t spare_room, aef_svc_held *held, aef_svc_file_cb cb, void *arg,
                          int list)
{
  names__ nl = { NULL, 0, 0, 0 };
  int scan = 0, r;

  /* every queued event (a read takes whole events only) */
  for (;;) {
    uint8_t buf[16384] __attribute__((aligned(8)));
    ssize_t k = read(wfd, buf, sizeof buf);

    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      scan |= k < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
      break;
    }
    r = aef_svc_watch_names(buf, (size_t)k, suffix, names_cb__, &nl);
    scan |= r < 0 || nl.r;
    /* a read that left room for another whole event took them all */
    if ((size_t)k + EV_HEAD__ + NAME_MAX + 1 <= sizeof buf)
      break;
  }
  /* nothing announced (a caller looking without a wake-up), dropped
   * events or a watch that cannot be read: every file is looked at */
  if (scan || (!nl.n && list)) {
    names_free__(nl.names, nl.n);
    return aef_svc_files_take(dir, suffix, spare_dir, spare_room, held, cb, arg);
  }
  r = take_names__(dir, nl.names, nl.n, strlen(suffix), spare_dir, spare_room, held, cb, arg);
  names_free__(nl.names, nl.n);
#ifdef __linux__
  /* the events of what was taken are gone: one is queued again */
  if (r > 0 && !list)
    utimensat(AT_FDCWD, dir, NULL, 0);
#endif
  return r;
}

int aef_svc_files_take_watched(int wfd, const char *dir, const char *suffix, const char *spare_dir,
                               size_t spare_room, aef_svc_held *held, aef_svc_file_cb cb,
                               void *arg)
{
  return take_watched__(wfd, dir, suffix, spare_dir, spare_room, held, cb, arg, 1);
}

int aef_svc_files_take_announced(int wfd, const char *dir, const char *suffix,
                                 const char *spare_dir, size_t spare_room, aef_svc_held *held,
                                 aef_svc_file_cb cb, void *arg)
{
  return take_watched__(wfd, dir, suffix, spare_dir, spare_room, held, cb, arg, 0);
}

/* ------------------------------------------------------------------------ */
/* liveness */

/* 1 if /proc says pid is a zombie, 0 if it says otherwise, -1 if /proc
 * cannot tell (no /proc, or no such process there any more) */
static int zombie__(pid_t pid)
{
  char path[64], buf[512], *p;
  int fd, r = -1;
  ssize_t k;

  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  k = read(fd, buf, sizeof buf - 1);
  if (k > 0) {
    buf[k] = 0;
    p = strrchr(buf, ')'); /* the command name may hold anything */
    r = p && p[1] == ' ' && p[2] == 'Z';
  }
  close(fd);
  return r;
}

int aef_svc_file_ino(const char *path, uint64_t *ino)
{
  struct stat st;

  if (stat(path, &st))
    return -errno;
  *ino = (uint64_t)st.st_ino;
  return 0;
}

int aef_svc_pid_alive(pid_t pid)
{
  int z;

  if (pid <= 0)
    return 0;
  if (kill(pid, 0) < 0 && errno != EPERM)
    return 0;
  z = zombie__(pid);
  /* /proc could not tell: either there is none (a zombie then counts as
   * alive), or the zombie was reaped between the signal and the look at
   * /proc, which signal 0 now tells (ESRCH) */
  if (z < 0)
    return !(kill(pid, 0) < 0 && errno == ESRCH);
  return !z;
}

long aef_svc_pidfile_pid(const char *pidfile)
{
  char buf[32];
  long pid = 0;
  ssize_t k;
  int fd = open(pidfile, O_RDONLY | O_CLOEXEC), i;

  if (fd < 0)
    return errno == ENOENT ? 0 : -errno;
  do
    k = read(fd, buf, sizeof buf);
  while (k < 0 && errno == EINTR);
  close(fd);
  if (k < 0)
    return -errno;
  for (i = 0; i < k && buf[i] >= '0' && buf[i] <= '9' && pid < 100000000L; i++)
    pid = pid * 10 + (buf[i] - '0');
  return aef_svc_pid_alive((pid_t)pid) ? pid : 0;
}

int aef_svc_pidfile_put(const char *pidfile, long pid, int *step)
{
  char pend[PATH_MAX], buf[32];
  int fd = -1, r = 0, n, len;

  *step = 1;
  n = snprintf(pend, sizeof pend, "%s.pend", pidfile);
  if (n < 0 || (size_t)n >= sizeof pend) {
    r = -ENAMETOOLONG;
    goto cleanup;
  }
  len = snprintf(buf, sizeof buf, "%ld", pid);
  fd = open(pend, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    r = -errno;
    goto cleanup;
  }
  *step = 2;
  r = aef_write_file(fd, buf, (size_t)len);
  if (r)
    goto cleanup;
  r = close(fd) < 0 ? -errno : 0;
  fd = -1;
  if (r)
    goto cleanup;
  *step = 3;
  if (rename(pend, pidfile) < 0)
    r = -errno;

cleanup:
  if (fd >= 0)
    close(fd);
  if (r && *step > 1)
    unlink(pend);
  return r;
}

static long now_ms__(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long aef_svc_pidfile_wait(const char *pidfile, int wfd, long timeout_ms)
{
  long deadline = timeout_ms < 0 ? 0 : now_ms__() + timeout_ms, pid, left;
  struct pollfd pfd;
  int r;

  for (;;) {
    /* drain before looking: an event after the look then wakes the poll */
    if (wfd >= 0 && (r = aef_svc_watch_drain(wfd)) < 0)
      return r;
    /* a pidfile that cannot be read counts as not there yet */
    if ((pid = aef_svc_pidfile_pid(pidfile)) > 0)
      return pid;
    left = -1;
    if (timeout_ms >= 0 && (left = deadline - now_ms__()) <= 0)
      return 0;
    if (wfd < 0 && (left < 0 || left > 50))
      left = 50;
    pfd.fd = wfd; pfd.events = POLLIN; pfd.revents = 0;
    if (poll(&pfd, wfd >= 0, (int)(left > 60000 ? 60000 : left)) < 0 && errno != EINTR)
      return -errno;
  }
}

/* ------------------------------------------------------------------------ */
/* registration */

int aef_svc_register(int kind, const char *path, int fd, long pid, int *watch)
{
  char pidfile[PATH_MAX];
  struct sockaddr_un sa;
  size_t len = strlen(path);
  int r = 0, made = 0, step, n, wfd = -1;

  if (kind != AEF_SVC_ENTRY_DGRAM && kind != AEF_SVC_ENTRY_STREAM && kind != AEF_SVC_ENTRY_DIR)
    return -EINVAL;
  n = snprintf(pidfile, sizeof pidfile, "%s.pid", path);
  if (n < 0 || (size_t)n >= sizeof pidfile)
    return -ENAMETOOLONG;
  if (kind == AEF_SVC_ENTRY_DIR) {
    if (mkdir(path, 0777) < 0)
      return -errno;
  }
  else {
    if (len >= sizeof sa.sun_path)
      return -ENAMETOOLONG;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, len + 1);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
      return -errno;
  }
  made = 1;
  if (kind == AEF_SVC_ENTRY_STREAM && listen(fd, SOMAXCONN) < 0) {
    r = -errno;
    goto cleanup;
  }
  if (kind == AEF_SVC_ENTRY_DIR && watch) {
    wfd = aef_svc_watch_open(path, 0);
    if (wfd < 0 && wfd != -ENOSYS) {
      r = wfd;
      goto cleanup;
    }
  }
  r = aef_svc_pidfile_put(pidfile, pid, &step);
  if (r)
    goto cleanup;
  /* path.pid -> path.suspend */
  if ((size_t)n - 3 + sizeof "suspend" <= sizeof pidfile) {
    memcpy(pidfile + n - 3, "suspend", sizeof "suspend");
    unlink(pidfile);
  }

cleanup:
  if (r && wfd >= 0)
    close(wfd);
  if (r && made) {
    if (kind == AEF_SVC_ENTRY_DIR)
      rmdir(path);
    else
      unlink(path);
  }
  if (!r && watch)
    *watch = wfd < 0 ? -1 : wfd;
  return r;
}

int aef_svc_fd_release(int fd)
{
  int null, r;

  if (fcntl(fd, F_GETFD) < 0)
    return -errno;
  /* (fd is open: the new descriptor is another one) */
  null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    return -errno;
  r = aef_dup_cloexec(null, fd);
  close(null);
  return r;
}

/* ------------------------------------------------------------------------ */
/* the wait step */

/* pidfds of watched pids are kept open from one wait to the next (their
 * event is added per wait, like the others): npid entries of pids/pidfds */
struct aef_svc_loop {
  struct event_base *base;
  pid_t owner;
  pid_t *pids;
  int *pidfds;
  size_t npid, cappid;
};

int aef_svc_loop_new(aef_svc_loop **out)
{
  aef_svc_loop *l = calloc(1, sizeof *l);
  struct event_config *cfg;

  if (!l)
    return -ENOMEM;
  /* each wait adds its events and removes them before it returns (the
   * descriptors are the caller's, which may close and reuse them between
   * waits): with epoll that is two epoll_ctl calls per descriptor and
   * wait, with poll(2) none; a service waits on a handful of descriptors */
  cfg = event_config_new();
  if (cfg) {
    event_config_avoid_method(cfg, "epoll");
    l->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
  }
  if (!l->base)
    l->base = event_base_new();
  if (!l->base) {
    free(l);
    return -ENOMEM;
  }
  l->owner = getpid();
  *out = l;
  return 0;
}

void aef_svc_loop_free(aef_svc_loop *loop)
{
  size_t i;

  if (!loop)
    return;
  if (loop->owner == getpid())
    event_base_free(loop->base);
  /* in a forked child the base's descriptors are inherited copies: leave
   * the parent's kernel state alone and only drop the memory we can (the
   * pidfds are no registrations, only descriptors: ours to close) */
  for (i = 0; i < loop->npid; i++)
    close(loop->pidfds[i]);
  free(loop->pids);
  free(loop->pidfds);
  free(loop);
}

/* the cached pidfd of pid (opened now if it is not cached): the
 * descriptor, -ESRCH when the process is gone, other -errno when there is
 * no pidfd for it (the caller falls back to looking at the process) */
static int pidfd__(aef_svc_loop *loop, pid_t pid)
{
#if defined(__linux__) && defined(SYS_pidfd_open)
  size_t i;
  int fd;

  for (i = 0; i < loop->npid; i++)
    if (loop->pids[i] == pid)
      return loop->pidfds[i];
  if (loop->npid == loop->cappid) {
    size_t cap = loop->cappid ? 2 * loop->cappid : 4;
    pid_t *np = realloc(loop->pids, cap * sizeof *np);
    int *nf;

    if (!np)
      return -ENOMEM;
    loop->pids = np;
    nf = realloc(loop->pidfds, cap * sizeof *nf);
    if (!nf)
      return -ENOMEM;
    loop->pidfds = nf;
    loop->cappid = cap;
  }
  /* pidfd_open sets close-on-exec on the new descriptor itself */
  fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0)
    return -errno;
  loop->pids[loop->npid] = pid;
  loop->pidfds[loop->npid] = fd;
  loop->npid++;
  return fd;
#else
  (void)loop; (void)pid;
  return -ENOSYS;
#endif
}

/* closes the cached pidfds of pids no longer watched, or gone (a pid may
 * be reused by a new process, which a new pidfd must follow) */
static void pidfd_prune__(aef_svc_loop *loop, const aef_svc_wait *w)
{
  size_t i = 0, j;

  while (i < loop->npid) {
    int keep = 0;
    for (j = 0; j < w->nwatch; j++)
      if (w->watch[j] == loop->pids[i])
        keep = !w->gone[j];
    if (keep) {
      i++;
      continue;
    }
    close(loop->pidfds[i]);
    loop->npid--;
    loop->pids[i] = loop->pids[loop->npid];
    loop->pidfds[i] = loop->pidfds[loop->npid];
  }
}

typedef struct waiter__ {
  int *flag;      /* set to 1 (or incremented, for signals) */
  int count;      /* signals: add instead of set */
  int *woke;
  struct event_base *base;
} waiter__;

static void on_event__(evutil_socket_t fd, short what, void *arg)
{
  waiter__ *w = arg;

  (void)fd; (void)what;
  if (w->flag) {
    if (w->count)
      (*w->flag)++;
    else
      *w->flag = 1;
  }
  (*w->woke)++;
  /* no loopbreak: EVLOOP_ONCE returns once every event that became active
   * together has been counted (a break would drop the others' counts) */
}

/* reaps what exited; returns 0 when this process has no children at all
 * (ECHILD), else 1 */
static int reap__(aef_svc_wait *w)
{
  while (w->nreaped < w->reaped_cap) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p < 0 && errno == ECHILD)
      return 0;
    if (p <= 0)
      break;
    w->reaped[w->nreaped].pid = p;
    w->reaped[w->nreaped].status = st;
    w->nreaped++;
  }
  return 1;
}

int aef_svc_loop_wait(aef_svc_loop *loop, aef_svc_wait *w)
{
  size_t nev = w->nr + w->nw + w->nsig + (w->reap ? 1 : 0) + w->nwatch + 1, i, k = 0;
  struct event **ev = NULL;
  waiter__ *wt = NULL;
  int *sigint = NULL, *pidfd = NULL, woke = 0, r = 0, chld = 0, fd, kids = 0;
  struct timeval tv;

  w->nreaped = 0;
  for (i = 0; i < w->nr; i++) w->rready[i] = 0;
  for (i = 0; i < w->nw; i++) w->wready[i] = 0;
  for (i = 0; i < w->nwatch; i++) w->gone[i] = 0;

  /* without any child no SIGCHLD can come while we wait (children are
   * only made by this process, which waits here): no handler then */
  if (w->reap)
    kids = reap__(w);
  if (w->nreaped)
    return (int)w->nreaped;

  ev = calloc(nev ? nev : 1, sizeof *ev);
  wt = calloc(nev ? nev : 1, sizeof *wt);
  sigint = calloc(w->nsig ? w->nsig : 1, sizeof *sigint);
  pidfd = calloc(w->nwatch ? w->nwatch : 1, sizeof *pidfd);
  if (!ev || !wt || !sigint || !pidfd) {
    r = -ENOMEM;
    goto cleanup;
  }
  for (i = 0; i < w->nwatch; i++)
    pidfd[i] = -1;

#define ADD__(fd, what, flagp, cnt) do { \
    wt[k].flag = (flagp); wt[k].count = (cnt); wt[k].woke = &woke; wt[k].base = loop->base; \
    ev[k] = event_new(loop->base, (fd), (what), on_event__, &wt[k]); \
    if (!ev[k] || event_add(ev[k], NULL) < 0) { r = -ENOMEM; goto cleanup; } \
    k++; \
  } while (0)

  for (i = 0; i < w->nr; i++)
    ADD__(w->rfds[i], EV_READ, &w->rready[i], 0);
  for (i = 0; i < w->nw; i++)
    ADD__(w->wfds[i], EV_WRITE, &w->wready[i], 0);
  for (i = 0; i < w->nsig; i++)
    ADD__(w->sigs[i], EV_SIGNAL | EV_PERSIST, &sigint[i], 1);
  if (w->reap && kids) {
    ADD__(SIGCHLD, EV_SIGNAL | EV_PERSIST, &chld, 1);
    /* a child that exited between the reap above and the handler's
     * installation sent its SIGCHLD to the default disposition, which
     * drops it: reap once more now that no exit can go unnoticed */
    reap__(w);
    if (w->nreaped) {
      r = (int)w->nreaped;
      goto cleanup;
    }
  }
  /* a watched pid wakes us through a pidfd where there are pidfds (it
   * turns readable when the process exits, zombie or not); elsewhere it is
   * looked at before and after the wait */
  for (i = 0; i < w->nwatch; i++) {
    fd = pidfd__(loop, w->watch[i]);
    if (fd >= 0) {
      pidfd[i] = fd;
      ADD__(fd, EV_READ, &w->gone[i], 0);
      continue;
    }
    if (fd == -ESRCH) {
      w->gone[i] = 1;
      continue;
    }
    if (!aef_svc_pid_alive(w->watch[i]))
      w->gone[i] = 1;
  }
#undef ADD__
  for (i = 0; i < w->nwatch; i++)
    if (w->gone[i]) {
      r = 1;
      goto cleanup;
    }

  if (w->timeout_ms >= 0) {
    /* our own timer, freed below (a loopexit would outlive this call) */
    tv.tv_sec = w->timeout_ms / 1000;
    tv.tv_usec = (w->timeout_ms % 1000) * 1000;
    wt[k].flag = NULL; wt[k].count = 0; wt[k].woke = &woke; wt[k].base = loop->base;
    ev[k] = evtimer_new(loop->base, on_event__, &wt[k]);
    if (!ev[k] || evtimer_add(ev[k], &tv) < 0) {
      r = -ENOMEM;
      goto cleanup;
    }
    k++;
  }
  if (k || w->timeout_ms >= 0)
    if (event_base_loop(loop->base, EVLOOP_ONCE) < 0)
      r = -EIO;
  /* a signal caught after the wake-up, while the callbacks ran, is only
   * noted in libevent's signal pipe: collect it before the handlers go
   * (a SIGCHLD missed so is no loss: the next wait reaps first) */
  if (!r && w->nsig)
    if (event_base_loop(loop->base, EVLOOP_NONBLOCK) < 0)
      r = -EIO;

  for (i = 0; i < w->nsig; i++)
    w->sigcount[i] += (unsigned)sigint[i];
  /* children that exited while we waited sent SIGCHLD (the ones before
   * were reaped above) */
  if (w->reap && chld)
    reap__(w);
  for (i = 0; i < w->nwatch; i++)
    if (pidfd[i] < 0 && !aef_svc_pid_alive(w->watch[i]))
      w->gone[i] = 1;
  if (!r) {
    r = (int)w->nreaped;
    for (i = 0; i < w->nwatch; i++) r += w->gone[i];
    for (i = 0; i < w->nr; i++) r += w->rready[i];
    for (i = 0; i < w->nw; i++) r += w->wready[i];
    for (i = 0; i < w->nsig; i++) r += sigint[i] ? 1 : 0;
  }

cleanup:
  for (i = 0; i < k; i++)
    if (ev[i])
      event_free(ev[i]);
  if (pidfd)
    pidfd_prune__(loop, w);
  free(ev);
  free(wt);
  free(sigint);
  free(pidfd);
  return r;
}
