/* aef_fd.c - socketpairs, descriptor flags, fd passing, full reads/writes. */
#include "aef.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for several descriptors, so that surplus ones are seen (and closed)
 * rather than silently truncated. */
#define RECV_FDS__ 8

int aef_socketpair(int fds[2])
{
  int sv[2];

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return -errno;
  fds[0] = sv[0];
  fds[1] = sv[1];
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
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
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
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
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

int aef_write_full(int fd, const void *buf, size_t n)
{
  const char *p = buf;

  while (n > 0) {
    ssize_t r = write(fd, p, n);

    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}
