/* aef_fd.c - socketpairs, descriptor flags, fd passing, full reads/writes. */
#include "aef.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for several descriptors, so that surplus ones are seen (and closed)
 * rather than silently truncated. */
#define RECV_FDS__ 8

/* Hand a new pair of descriptors to the caller; made without the atomic
 * flag (cloexec_done 0), it is made close-on-exec first, and closed if
 * that fails. 0 or -errno. */
static int pair_out__(int made[2], int fds[2], int cloexec_done)
{
  if (!cloexec_done && (fcntl(made[0], F_SETFD, FD_CLOEXEC) < 0
                        || fcntl(made[1], F_SETFD, FD_CLOEXEC) < 0)) {
    int err = -errno;

    close(made[0]);
    close(made[1]);
    return err;
  }
  fds[0] = made[0];
  fds[1] = made[1];
  return 0;
}

int aef_socketpair(int fds[2])
{
  int sv[2];

#if AEF_HAVE_SOCK_CLOEXEC
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return -errno;
#else
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
    return -errno;
#endif
  return pair_out__(sv, fds, AEF_HAVE_SOCK_CLOEXEC);
}

int aef_pipe(int fds[2])
{
  int p[2];

#if AEF_HAVE_PIPE2
  if (pipe2(p, O_CLOEXEC) < 0)
    return -errno;
#else
  if (pipe(p) < 0)
    return -errno;
#endif
  return pair_out__(p, fds, AEF_HAVE_PIPE2);
}

int aef_dup_cloexec(int fd, int target)
{
  if (fd == target)
    return -EINVAL;
#if AEF_HAVE_DUP3
  while (dup3(fd, target, O_CLOEXEC) < 0)
    if (errno != EINTR)
      return -errno;
#else
  while (dup2(fd, target) < 0)
    if (errno != EINTR)
      return -errno;
  if (fcntl(target, F_SETFD, FD_CLOEXEC) < 0)
    return -errno;
#endif
  return 0;
}

/* Set or clear bit in the flags read with get and written with set. */
static int flag__(int fd, int get, int set, int bit, int on)
{
  int flags = fcntl(fd, get), want;

  if (flags < 0)
    return -errno;
  want = on ? flags | bit : flags & ~bit;
  if (want != flags && fcntl(fd, set, want) < 0)
    return -errno;
  return 0;
}

int aef_set_nonblock(int fd, int on)
{
  return flag__(fd, F_GETFL, F_SETFL, O_NONBLOCK, on);
}

int aef_set_cloexec(int fd, int on)
{
  return flag__(fd, F_GETFD, F_SETFD, FD_CLOEXEC, on);
}

/* Where no flag keeps a send or write from raising SIGPIPE, SIGPIPE is
 * blocked around it: a SIGPIPE the call raises stays pending while it is
 * blocked, and pipe_unblock__ takes back every pending one (the thread's
 * and the process's), then raises again the one the caller had pending
 * before, if any, and restores the mask. pipe_block__: 0 or an errno. */
static int pipe_block__(sigset_t *old, int *was_pending)
{
  sigset_t pipe_set, pending;
  int err;

  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  err = pthread_sigmask(SIG_BLOCK, &pipe_set, old);
  if (err)
    return err;
  *was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
  return 0;
}

static void pipe_unblock__(const sigset_t *old, int was_pending)
{
  sigset_t pipe_set, pending;
  int sig, err = errno;

  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  while (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
    sigwait(&pipe_set, &sig);
  if (was_pending)
    raise(SIGPIPE);
  pthread_sigmask(SIG_SETMASK, old, NULL);
  errno = err;
}

/* write(2) with SIGPIPE blocked around it */
static ssize_t write_blocked__(int fd, const void *p, size_t n)
{
  sigset_t old;
  ssize_t r;
  int was_pending, err = pipe_block__(&old, &was_pending);

  if (err) {
    errno = err;
    return -1;
  }
  r = write(fd, p, n);
  pipe_unblock__(&old, was_pending);
  return r;
}

/* sendmsg that never raises SIGPIPE (see AEF_HAVE_MSG_NOSIGNAL). */
static ssize_t sendmsg_nosignal__(int sock, const struct msghdr *msg)
{
#if AEF_HAVE_MSG_NOSIGNAL
  return sendmsg(sock, msg, MSG_NOSIGNAL);
#elif AEF_HAVE_SO_NOSIGPIPE
  int on = 1;

  if (setsockopt(sock, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on) < 0)
    return -1;
  return sendmsg(sock, msg, 0);
#else
  sigset_t old;
  ssize_t n;
  int was_pending, err = pipe_block__(&old, &was_pending);

  if (err) {
    errno = err;
    return -1;
  }
  n = sendmsg(sock, msg, 0);
  pipe_unblock__(&old, was_pending);
  return n;
#endif
}

/* One write (a send on a socket) that never raises SIGPIPE. */
static ssize_t write_nosignal__(int fd, const void *p, size_t n)
{
#if AEF_HAVE_MSG_NOSIGNAL
  ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

  if (r >= 0 || errno != ENOTSOCK)
    return r;
  return write_blocked__(fd, p, n); /* a pipe or a file */
#elif AEF_HAVE_SO_NOSIGPIPE
  int on = 1;

  if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on) == 0)
    return write(fd, p, n);
  return write_blocked__(fd, p, n);
#else
  return write_blocked__(fd, p, n);
#endif
}

int aef_fd_send(int sock, int fd)
{
  char byte = 0;
  struct iovec iov = { &byte, 1 };
  union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
  struct msghdr msg;
  struct cmsghdr *cmsg;
  ssize_t n;

  memset(&msg, 0, sizeof msg);
  memset(&ctl, 0, sizeof ctl);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);

  do
    n = sendmsg_nosignal__(sock, &msg);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  return 0; /* a one-byte send on a stream socket is all or nothing */
}

int aef_fd_recv(int sock, int *fd_out)
{
  char byte;
  struct iovec iov = { &byte, 1 };
  union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int) * RECV_FDS__)]; } ctl;
  struct msghdr msg;
  struct cmsghdr *cmsg;
  ssize_t n;
  int fd = -1, err;

  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;

  do
#if AEF_HAVE_MSG_CMSG_CLOEXEC
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
#else
    n = recvmsg(sock, &msg, 0);
#endif
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;

  /* Keep the first descriptor that arrived, close every other one. */
  for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    size_t i, count;

    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
      continue;
    count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (i = 0; i < count; i++) {
      int got;

      memcpy(&got, CMSG_DATA(cmsg) + i * sizeof(int), sizeof got);
      if (fd < 0)
        fd = got;
      else
        close(got);
    }
  }

  if (n == 0)
    err = -ECONNRESET;
  else if (msg.msg_flags & MSG_CTRUNC)
    err = -EMSGSIZE;
  else if (fd < 0)
    err = -EDOM;
#if !AEF_HAVE_MSG_CMSG_CLOEXEC
  else if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
    err = -errno;
#endif
  else {
    *fd_out = fd;
    return 0;
  }
  if (fd >= 0)
    close(fd);
  return err;
}

int aef_read_full(int fd, void *buf, size_t n)
{
  char *p = buf;

  while (n > 0) {
    ssize_t r = read(fd, p, n);

    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0)
      return 0;
    p += r;
    n -= (size_t)r;
  }
  return 1;
}

/* all n bytes through one writer (write_nosignal__, or write(2) where
 * SIGPIPE cannot arise): 0 or -errno */
static int write_all__(int fd, const char *p, size_t n,
                       ssize_t (*writer)(int, const void *, size_t))
{
  while (n > 0) {
    ssize_t r = writer(fd, p, n);

    if (r < 0) {
      struct pollfd pfd;

      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -errno;
      /* a non-blocking descriptor that is full: wait until it drains */
      pfd.fd = fd;
      pfd.events = POLLOUT;
      if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
        return -errno;
      continue;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

int aef_write_full(int fd, const void *buf, size_t n)
{
  return write_all__(fd, buf, n, write_nosignal__);
}

int aef_write_file(int fd, const void *buf, size_t n)
{
  return write_all__(fd, buf, n, write);
}
