/*
 * aef_task.h - the AnyEvent::Task part of the C core (no Perl headers).
 *
 * The Task wire protocol is a stream of JSON arrays written back to back:
 * no length prefix, no delimiter; JSON whitespace may sit between them.
 * The splitter finds where each top-level array ends, across reads, inside
 * strings and escapes, without decoding anything (the JSON codec of the
 * caller validates each message it is handed). The worker loop reads a
 * connection in blocking mode under the hung-worker alarm. The helpers at
 * the end give up inherited descriptors without freeing their numbers.
 */
#ifndef AEF_TASK_H
#define AEF_TASK_H

#include "aef.h"

#include <sys/types.h>

/* Largest single message either side accepts: a longer one is treated as a
 * corrupted stream. */
#define AEF_TASK_MSG_MAX (64u * 1024u * 1024u)

/* Largest read the splitter is fed at once (aef_task_split_feed). */
#define AEF_TASK_CHUNK (64u * 1024u)

/* ------------------------------------------------------------------------ */
/* the splitter: aef_task.c                                                  */

/* All fields are private. Owned by the caller; aef_task_split_free
 * releases the storage. */
typedef struct aef_task_split {
  aef_buf buf;      /* received bytes not yet handed out */
  size_t scan;      /* bytes of buf already scanned */
  size_t start;     /* offset of the current message's '[' (valid if state) */
  size_t handed;    /* length handed out by the last _next, consumed next time */
  size_t max;       /* message size bound */
  uint32_t depth;   /* nesting depth inside the current message */
  uint8_t state;    /* 0 between messages, 1 in a message, 2 in a string,
                       3 right after a backslash in a string */
  int err;          /* sticky error (negative errno) or 0 */
} aef_task_split;

/* Initialise an empty splitter accepting messages of at most max bytes
 * (0 means AEF_TASK_MSG_MAX). Allocates nothing. */
void aef_task_split_init(aef_task_split *s, size_t max);

/* Append n <= AEF_TASK_CHUNK received bytes. Feed only after aef_task_split_next
 * returned 0 (so that the content stays bounded by max + one chunk). Returns 0,
 * -EMSGSIZE (n too large for the bound) or -ENOMEM. */
int aef_task_split_feed(aef_task_split *s, const void *p, size_t n);

/* The next complete message. Returns 1 and sets msg and len to the bytes
 * from its '[' to its ']' inclusive (valid until the next call to any
 * splitter function); 0 when more bytes are needed; -EPROTO when a value
 * that is not an array starts at the top level or a bracket closes at
 * depth 0; -EMSGSIZE when the message being assembled exceeds the bound.
 * Errors are sticky: the stream cannot be resynchronised. */
int aef_task_split_next(aef_task_split *s, const uint8_t **msg, size_t *len);

/* Bytes held that belong to no complete message yet (for tests). */
size_t aef_task_split_pending(const aef_task_split *s);

void aef_task_split_free(aef_task_split *s);

/* ------------------------------------------------------------------------ */
/* the worker's blocking loop                                                */

/* fd is public read-only (the connection, owned by the caller, switched to
 * blocking mode by _init); alarm_secs is public (0: no hung-worker alarm);
 * the rest is private. */
typedef struct aef_task_worker {
  int fd;
  unsigned alarm_secs;
  int armed__;
  aef_task_split split__;
} aef_task_worker;

/* Prepare a worker loop on the connection fd. Returns 0 or -errno. */
int aef_task_worker_init(aef_task_worker *w, int fd, unsigned alarm_secs);

/* Block until the next complete message, reading chunks of at most 4096
 * bytes. When a chunk arrives the hung-worker alarm is armed (when
 * alarm_secs is set; _init installs its SIGALRM handler, _free restores
 * the previous one); it stays armed while the caller handles every message
 * of that chunk and is cancelled when the loop next waits for data (which
 * is never timed). When it fires
 * the process writes "Killing hung worker (PID)\n" to descriptor 2 and
 * _exits with status 1. Returns 1 with msg and len as aef_task_split_next,
 * -ECONNRESET at end-of-file, -EPROTO/-EMSGSIZE for a corrupt stream,
 * -errno for a read error (EINTR is retried). */
int aef_task_worker_next(aef_task_worker *w, const uint8_t **msg, size_t *len);

/* Write a whole reply (blocking; EINTR retried; no SIGPIPE). 0 or -errno. */
int aef_task_worker_write(aef_task_worker *w, const void *p, size_t n);

/* Cancel the alarm if armed and release the buffer (fd stays open). */
void aef_task_worker_free(aef_task_worker *w);

/* ------------------------------------------------------------------------ */
/* descriptor hygiene                                                        */

/* Give up each of the n descriptors fds[i] without freeing its number:
 * the null device is duplicated over it (close-on-exec), so that whatever
 * still owns that number (a Perl handle) later closes a harmless copy.
 * Negative entries are skipped. Returns 0 or -errno (the first failure;
 * the rest are still processed). */
int aef_task_release_fds(const int *fds, size_t n);

/* The same for every open descriptor of the process except 0, 1, 2 and
 * the n descriptors in keep. A listed descriptor the process cannot
 * replace with EBADF (closed meanwhile, or reserved by a tool such as
 * valgrind) is skipped. Returns 0 or -errno. */
int aef_task_release_all_but(const int *keep, size_t n);

/* ------------------------------------------------------------------------ */
/* handing accepted connections to the forker                                */

/* The server hands each accepted connection, with its sequence number, to
 * a forking process over a stream socket pair that only these two calls
 * use (one sender, one receiver).
 *
 * aef_task_hand_send sends the descriptor fd (one byte plus one SCM_RIGHTS
 * descriptor, as aef_fd_send) followed by n as 8 bytes in host order. fd
 * stays the caller's. A receiver that is gone gives -EPIPE (never a
 * SIGPIPE). Returns 0 or -errno; on an error the receiver may have got the
 * descriptor without its number (it then sees end-of-file, see below).
 *
 * aef_task_hand_recv blocks for the next pair. On success *fd_out is a new
 * close-on-exec descriptor owned by the caller, *n_out its number, and 0 is
 * returned. -ECONNRESET: end-of-file (the sender is gone; a descriptor that
 * arrived without its number is closed); other failures as aef_fd_recv,
 * with nothing left open. */
int aef_task_hand_send(int sock, int fd, uint64_t n);
int aef_task_hand_recv(int sock, int *fd_out, uint64_t *n_out);

/* Have the kernel reap this process's children (SIGCHLD's default action
 * with SA_NOCLDWAIT: no zombie is ever left, no status is collected), for
 * a process that forks workers and never waits for them. The previous
 * SIGCHLD action is kept; aef_task_autoreap_off puts it back (a forked
 * child calls it first, so that it waits for its own children as the
 * server would). 0 or -errno; calling _on twice keeps the first saved
 * action. */
int aef_task_autoreap_on(void);
int aef_task_autoreap_off(void);

/* Most spare workers a forker keeps ready, and how long (milliseconds)
 * the forker waits for a connection before it lets one of several spares
 * go. */
#define AEF_TASK_SPARES_MAX 4
#define AEF_TASK_SPARE_IDLE_MS 1000

/* The forker's loop, run by a copy of the server that does nothing else.
 * It forks ahead of demand: it keeps `want` spare workers (1 at first, at
 * most AEF_TASK_SPARES_MAX), each forked with a socket pair of its own and
 * blocked on it, and hands each connection that aef_task_hand_recv brings
 * on hand (with its number) to the newest spare, then forks the next spare
 * while that one serves. Forking is fork_fn(arg) (it returns what fork(2)
 * returns, with errno set on failure; a caller wraps fork(2) to keep its
 * runtime consistent). A connection that finds no spare (they died, or a
 * fork failed) gets its worker forked for it at once, and `want` grows by
 * one; each AEF_TASK_SPARE_IDLE_MS without a connection while more than one
 * spare waits lets one go, and `want` shrinks with them. Spares are forked
 * only while no connection waits. The kernel reaps the children
 * (aef_task_autoreap_on at entry).
 *   forker: closes its copy of each connection once handed over or forked
 *           for; when forking for a connection fails it writes "fork
 *           failed: STRERROR\n" to descriptor 2 and closes the connection
 *           (its client sees end-of-file) and goes on; a spare that cannot
 *           be forked is not retried before the next connection that finds
 *           none.
 *   worker: (a spare given its connection, or a child forked for one)
 *           returns 0 with *fd_out its connection (close-on-exec, now the
 *           caller's) and *n_out its number, the previous SIGCHLD action
 *           back (aef_task_autoreap_off). It holds none of the forker's
 *           descriptors of this loop: its copy of hand is given up as
 *           aef_task_release_fds does (the number stays taken by the null
 *           device), the spares' pairs are closed. A spare does nothing
 *           else before its connection comes: the caller's code runs only
 *           once this returns.
 * Returns -ECONNRESET in the forker when the server is gone (end-of-file
 * on hand; every spare then sees end-of-file on its pair), and in a spare
 * that is let go or whose forker is gone; another -errno of
 * aef_task_hand_recv, poll or aef_task_autoreap_on otherwise. Either way
 * the process has nothing left to do: its SIGCHLD action is back as it
 * was, and children still running will not be reaped by the kernel. */
int aef_task_forker_next(int hand, pid_t (*fork_fn)(void *), void *arg,
                         int *fd_out, uint64_t *n_out);

/* _exit(status), through the address of _exit taken when the library was
 * loaded: a process forked from one that never called _exit ends without
 * binding the symbol lazily (which writes pages shared with the parent:
 * each such write costs the child a copy). Never returns. */
void aef_task_exit(int status);

#endif
