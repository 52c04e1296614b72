/*
 * pool_pingpong.c - the physical limit for a pool of tiny jobs: a C parent
 * keeps up to LOAD requests outstanding at each of WORKERS C children, over
 * AF_UNIX socketpairs, with the RPC framing (request "N/a*", response
 * "NN/a*" carrying the payload back). The children answer every complete
 * request they have read, then write all answers at once; the parent reads
 * whatever arrived and refills with one write per worker. No Perl anywhere.
 *
 * usage: pool_pingpong WORKERS LOAD JOBS
 * prints: rate=JOBS_PER_SECOND
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD "\x05" "12345" /* pack "(w/a*)*", "12345" */
#define PLEN 6

static void die_ (const char *what) __attribute__ ((noreturn));
static void die_ (const char *what)
{
  perror (what);
  exit (1);
}

static void write_all (int fd, const char *p, size_t n)
{
  while (n) {
    ssize_t w = write (fd, p, n);

    if (w < 0) {
      if (errno == EINTR)
        continue;
      die_ ("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

static uint32_t get32 (const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32 (unsigned char *p, uint32_t v)
{
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* the worker: answer every complete request read so far, one write */
static void child (int fd)
{
  static unsigned char buf[65536], out[2 * 65536];
  size_t len = 0;

  for (;;) {
    ssize_t r = read (fd, buf + len, sizeof buf - len);
    size_t off = 0, olen = 0;

    if (r <= 0)
      _exit (0);
    len += (size_t)r;
    while (len - off >= 4 && len - off >= 4 + get32 (buf + off)) {
      uint32_t n = get32 (buf + off);

      put32 (out + olen, 1);
      put32 (out + olen + 4, n);
      memcpy (out + olen + 8, buf + off + 4, n);
      olen += 8 + n;
      off += 4 + n;
    }
    write_all (fd, (char *)out, olen);
    memmove (buf, buf + off, len - off);
    len -= off;
  }
}

int main (int argc, char **argv)
{
  int workers = argc > 1 ? atoi (argv[1]) : 2;
  int load = argc > 2 ? atoi (argv[2]) : 2;
  long jobs = argc > 3 ? atol (argv[3]) : 100000;
  int ep = epoll_create1 (EPOLL_CLOEXEC);
  int *fd = calloc ((size_t)workers, sizeof *fd);
  size_t *have = calloc ((size_t)workers, sizeof *have);
  unsigned char (*in)[65536] = calloc ((size_t)workers, sizeof *in);
  long sent = 0, done = 0;
  struct timespec t0, t1;
  int i;

  if (ep < 0 || !fd || !have || !in || workers < 1 || load < 1)
    die_ ("setup");

  for (i = 0; i < workers; i++) {
    int sv[2];
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
      die_ ("socketpair");
    switch (fork ()) {
    case -1:
      die_ ("fork");
    case 0:
      close (sv[0]);
      child (sv[1]);
    }
    close (sv[1]);
    fd[i] = sv[0];
    if (epoll_ctl (ep, EPOLL_CTL_ADD, fd[i], &ev))
      die_ ("epoll_ctl");
  }

  clock_gettime (CLOCK_MONOTONIC, &t0);

  /* fill every worker up to its load */
  for (i = 0; i < workers; i++) {
    unsigned char req[4 + 256];
    size_t n = 0;
    int k;

    for (k = 0; k < load && sent < jobs; k++, sent++) {
      put32 (req + n, PLEN);
      memcpy (req + n + 4, PAYLOAD, PLEN);
      n += 4 + PLEN;
      if (n + 4 + PLEN > sizeof req) {
        write_all (fd[i], (char *)req, n);
        n = 0;
      }
    }
    write_all (fd[i], (char *)req, n);
  }

  /* each answer frees a slot at its worker: refill it, one write per batch */
  while (done < jobs) {
    struct epoll_event ev[64];
    int nev = epoll_wait (ep, ev, 64, -1), e;

    if (nev < 0) {
      if (errno == EINTR)
        continue;
      die_ ("epoll_wait");
    }
    for (e = 0; e < nev; e++) {
      int w = (int)ev[e].data.u32;
      ssize_t r = read (fd[w], in[w] + have[w], sizeof in[w] - have[w]);
      size_t off = 0, n = 0;
      unsigned char req[65536];

      if (r <= 0)
        die_ ("read");
      have[w] += (size_t)r;
      while (have[w] - off >= 8 && have[w] - off >= 8 + get32 (in[w] + off + 4)) {
        off += 8 + get32 (in[w] + off + 4);
        done++;
        if (sent < jobs) {
          put32 (req + n, PLEN);
          memcpy (req + n + 4, PAYLOAD, PLEN);
          n += 4 + PLEN;
          sent++;
        }
      }
      memmove (in[w], in[w] + off, have[w] - off);
      have[w] -= off;
      if (n)
        write_all (fd[w], (char *)req, n);
    }
  }

  clock_gettime (CLOCK_MONOTONIC, &t1);

  for (i = 0; i < workers; i++)
    close (fd[i]);
  while (wait (NULL) > 0)
    ;

  printf ("rate=%.0f\n", jobs / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9));
  return 0;
}
