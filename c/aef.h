/*
 * aef.h - the portable C core of AnyEvent::Fork (no Perl headers here).
 *
 * Conventions (after libuv):
 *   - public names start with aef_, private ones end in __ and are static;
 *   - every fallible function returns 0 (or a documented non-negative value)
 *     on success and -errno on failure; errno itself is not relied upon;
 *   - every descriptor the core creates is close-on-exec from birth;
 *   - EINTR is retried inside the core, never returned;
 *   - nothing here calls exit(), prints, or allocates behind the caller's back
 *     except where the contract says so.
 */
#ifndef AEF_H
#define AEF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <signal.h>

/* ------------------------------------------------------------------------ */
/* platform: the system features the core's .c files use                    */
/*
 * Each AEF_HAVE_X is 1 where the system has X and 0 where the core falls
 * back to a portable sequence (as libuv does):
 *   SOCK_CLOEXEC      socketpair with SOCK_CLOEXEC; else FD_CLOEXEC set by
 *                     fcntl right after the call
 *   MSG_CMSG_CLOEXEC  recvmsg with MSG_CMSG_CLOEXEC; else FD_CLOEXEC set on
 *                     every received descriptor right after the call
 *   PIPE2, DUP3       pipe2 / dup3 with O_CLOEXEC; else pipe / dup2, then
 *                     FD_CLOEXEC
 *   MSG_NOSIGNAL      sendmsg with MSG_NOSIGNAL; else SO_NOSIGPIPE on the
 *                     socket (AEF_HAVE_SO_NOSIGPIPE); else SIGPIPE blocked
 *                     around the call and the one it raised taken back
 *   VFORK             vfork where it is known to be safe (Linux, glibc);
 *                     else fork
 *   PROC_SIGCGT       the caught signals read from /proc/self/status
 *                     (Linux); else every signal's disposition queried
 * A fallback leaves a short window in which a fork + exec in another
 * thread inherits the new descriptor; a single-threaded perl has none.
 * Compiling with -DAEF_FORCE_FALLBACKS sets every AEF_HAVE_X to 0: the C
 * unit tests are also built and run that way, so every fallback is tested
 * on every system. */
#include <fcntl.h>
#include <sys/socket.h>

#if !defined(AEF_FORCE_FALLBACKS) && defined(SOCK_CLOEXEC)
# define AEF_HAVE_SOCK_CLOEXEC 1
#else
# define AEF_HAVE_SOCK_CLOEXEC 0
#endif
#if !defined(AEF_FORCE_FALLBACKS) && defined(MSG_CMSG_CLOEXEC)
# define AEF_HAVE_MSG_CMSG_CLOEXEC 1
#else
# define AEF_HAVE_MSG_CMSG_CLOEXEC 0
#endif
#if !defined(AEF_FORCE_FALLBACKS) && defined(O_CLOEXEC) \
    && (defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) \
        || defined(__OpenBSD__) || defined(__DragonFly__))
# define AEF_HAVE_PIPE2 1
# define AEF_HAVE_DUP3 1
#else
# define AEF_HAVE_PIPE2 0
# define AEF_HAVE_DUP3 0
#endif
#if !defined(AEF_FORCE_FALLBACKS) && defined(MSG_NOSIGNAL)
# define AEF_HAVE_MSG_NOSIGNAL 1
#else
# define AEF_HAVE_MSG_NOSIGNAL 0
#endif
#if !defined(AEF_FORCE_FALLBACKS) && defined(SO_NOSIGPIPE)
# define AEF_HAVE_SO_NOSIGPIPE 1
#else
# define AEF_HAVE_SO_NOSIGPIPE 0
#endif
#if !defined(AEF_FORCE_FALLBACKS) && defined(__linux__) && defined(__GLIBC__)
# define AEF_HAVE_VFORK 1
#else
# define AEF_HAVE_VFORK 0
#endif
#if !defined(AEF_FORCE_FALLBACKS) && defined(__linux__)
# define AEF_HAVE_PROC_SIGCGT 1
#else
# define AEF_HAVE_PROC_SIGCGT 0
#endif

/* Largest Serve command payload a child accepts. The wire field is 32 bits;
 * anything larger than this bound is treated as a corrupted stream. */
#define AEF_SERVE_MAX (256u * 1024u * 1024u)

/* Largest RPC frame payload the protocol can express (4 GiB - 1). */
#define AEF_RPC_MAX UINT32_MAX

/* ------------------------------------------------------------------------ */
/* descriptors: aef_fd.c                                                     */

/* Create an AF_UNIX SOCK_STREAM socketpair, both ends close-on-exec
 * (SOCK_CLOEXEC, or FD_CLOEXEC right after). fds[0], fds[1] are owned by
 * the caller.
 * Returns 0 or -errno; on failure fds is untouched. */
int aef_socketpair(int fds[2]);

/* Set or clear O_NONBLOCK / FD_CLOEXEC on fd. Returns 0 or -errno. */
int aef_set_nonblock(int fd, int on);
int aef_set_cloexec(int fd, int on);

/* A close-on-exec pipe (pipe2 with O_CLOEXEC, or FD_CLOEXEC right after):
 * fds[0] reads, fds[1] writes, both owned by the caller. 0 or -errno; on
 * failure fds is untouched and nothing stays open. */
int aef_pipe(int fds[2]);

/* Make target a close-on-exec duplicate of fd, closing what target was
 * (dup3 with O_CLOEXEC, or dup2 then FD_CLOEXEC). fd stays the caller's.
 * 0, -EINVAL when fd == target (as dup3), or -errno. */
int aef_dup_cloexec(int fd, int target);

/* Send descriptor fd over the stream socket sock as the original does:
 * exactly one data byte "\0" plus one SCM_RIGHTS descriptor. A peer that
 * is gone gives -EPIPE and never a SIGPIPE (MSG_NOSIGNAL, SO_NOSIGPIPE, or
 * SIGPIPE blocked around the call and taken back: one pending before the
 * call stays pending).
 * fd stays owned by the caller. Returns 0, -EAGAIN (socket full, nothing
 * sent, try again) or -errno. */
int aef_fd_send(int sock, int fd);

/* Receive one descriptor sent by aef_fd_send: recvmsg of exactly one byte
 * with MSG_CMSG_CLOEXEC (or FD_CLOEXEC right after). On success *fd_out is a new close-on-exec
 * descriptor owned by the caller and 0 is returned. Failures, with every
 * descriptor that arrived closed before returning:
 *   -ECONNRESET  end-of-file (peer closed before the byte arrived)
 *   -EMSGSIZE    control data truncated (MSG_CTRUNC)
 *   -EDOM        the byte arrived without a descriptor (IO::FDPass's errno)
 *   -EAGAIN      non-blocking socket and nothing to read
 *   -errno       recvmsg failed
 * Surplus descriptors (more than one) are closed; the first is kept. */
int aef_fd_recv(int sock, int *fd_out);

/* Blocking I/O helpers for blocking descriptors.
 * aef_read_full reads exactly n bytes: returns 1 when all n were read,
 * 0 on end-of-file before n bytes (what was read is lost), -errno on error.
 * aef_write_full writes all n bytes to a socket, pipe or file, blocking
 * or not (EINTR retried; EAGAIN waits in poll until the descriptor takes
 * more), and never raises SIGPIPE: a peer that is gone gives -EPIPE (on a
 * socket MSG_NOSIGNAL or SO_NOSIGPIPE, elsewhere SIGPIPE blocked around
 * the write and taken back as in aef_fd_send). 0 or -errno; on an error
 * an unknown part of the bytes may have been written. */
int aef_read_full(int fd, void *buf, size_t n);
int aef_write_full(int fd, const void *buf, size_t n);

/* aef_write_file: aef_write_full for descriptors on which a write cannot
 * raise SIGPIPE (regular files): plain write(2), with no per-call signal
 * handling; on a pipe or socket whose reader is gone it may raise SIGPIPE.
 * 0 or -errno. */
int aef_write_file(int fd, const void *buf, size_t n);

/* ------------------------------------------------------------------------ */
/* growable byte buffers: aef_buf.c                                          */

/* Bytes [off, len) of data are the content; [0, off) is consumed space
 * that aef_buf_reserve reclaims. max bounds len - off (content size).
 * Fields are tagged as libuv's are; callers use the functions below (the
 * core's own files also reserve room and then fill it in place). */
typedef struct aef_buf {
  /* private */
  uint8_t *data;
  size_t off, len, cap, max;
} aef_buf;

/* Static initialiser of an empty buffer (as aef_buf_init (b, max)). */
#define AEF_BUF_INIT(max) { NULL, 0, 0, 0, (max) }

/* Initialise an empty buffer whose content may never exceed max bytes.
 * Allocates nothing. */
void aef_buf_init(aef_buf *b, size_t max);

/* Make room for at least extra more bytes after the content (compacting or
 * growing geometrically). Overflow-checked: returns -EMSGSIZE when content
 * + extra would exceed max (or size_t), -ENOMEM when allocation fails; the
 * buffer is unchanged on failure. 0 on success. */
int aef_buf_reserve(aef_buf *b, size_t extra);

/* Append n bytes (aef_buf_reserve + copy). 0 or -EMSGSIZE/-ENOMEM. */
int aef_buf_append(aef_buf *b, const void *p, size_t n);

/* Pointer to and size of the content. (No arithmetic on the NULL data of
 * an unallocated buffer: that is undefined even with offset 0.) */
static inline uint8_t *aef_buf_ptr(const aef_buf *b) { return b->off ? b->data + b->off : b->data; }
static inline size_t aef_buf_size(const aef_buf *b) { return b->len - b->off; }

/* Drop the first n bytes of content (n <= size). Never fails. */
void aef_buf_consume(aef_buf *b, size_t n);

/* Release the storage; the buffer is empty and reusable afterwards. */
void aef_buf_free(aef_buf *b);

/* ------------------------------------------------------------------------ */
/* wire codecs: aef_codec.c                                                  */

/* BER compressed integer as perl's pack "w": base 128, most significant
 * group first, high bit on every byte but the last. */
size_t aef_ber_size(uint64_t v);                 /* 1..10 */
int aef_ber_put(aef_buf *b, uint64_t v);          /* 0 or -EMSGSIZE/-ENOMEM */
/* Decode one BER integer from [*p, end). Returns 1 and advances *p on
 * success, 0 when the input ends inside the number (*p unchanged),
 * -EOVERFLOW when it does not fit 64 bits. */
int aef_ber_get(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* String lists, perl's pack "(w/a*)*": append one string. */
int aef_strlist_put(aef_buf *b, const void *s, size_t len);
/* Take the next string from [*p, end). Returns 1 with *s and *len pointing
 * into the input and *p advanced, 0 at the end of the input, -EBADMSG when
 * a length runs past the end or overflows (perl's unpack would return a
 * short string there; callers that need that exact behaviour fall back to
 * perl). */
int aef_strlist_get(const uint8_t **p, const uint8_t *end,
                    const uint8_t **s, size_t *len);

/* Serve command frame "a L/a*": letter, 32-bit native-order length,
 * payload. aef_serve_put appends one frame: 0, -E2BIG (len > UINT32_MAX),
 * -EMSGSIZE/-ENOMEM. */
int aef_serve_put(aef_buf *b, char letter, const void *payload, size_t len);

/* Read one command from a blocking socket, never reading past its end (the
 * byte after an "h" frame carries a descriptor). The payload replaces the
 * content of *payload. Returns 1 with *letter set, 0 on end-of-file
 * (anywhere in the frame), -EMSGSIZE when the announced length exceeds
 * AEF_SERVE_MAX (nothing more is read), -ENOMEM, or -errno. The payload's
 * storage grows with the octets received (at most doubling, from 64 KiB),
 * never with the announced length. On failure *payload is empty. */
int aef_serve_read(int fd, char *letter, aef_buf *payload);

/* ------------------------------------------------------------------------ */
/* spawning: aef_spawn.c                                                     */

/* Start path with argv/envp (NULL-terminated) in a new process using vfork
 * (no page-table copy) where AEF_HAVE_VFORK, fork elsewhere. In the child all signals are reset to their default
 * disposition (ignored ones stay ignored) and the caller's signal mask is
 * restored; the nkeep descriptors in keep[] lose FD_CLOEXEC so they survive
 * the exec, every other descriptor keeps its close-on-exec flag. An exec
 * failure is reported to the parent through a close-on-exec pipe, the
 * child then _exit(127)s and is reaped here.
 * Returns 0 with *pid set, or -errno (the exec's errno, or that of pipe /
 * vfork / fork). Never leaves a zombie or a descriptor behind on failure. */
int aef_spawn(pid_t *pid, const char *path, char *const argv[],
              char *const envp[], const int *keep, size_t nkeep);

/* The same, with no descriptor kept but stdio (>= 0), which becomes the
 * child's descriptors 0 and 1 (descriptor 2 and the caller's descriptors
 * without FD_CLOEXEC are inherited as they are). stdio itself is not
 * inherited unless it is 0 or 1. No PATH search: path is executed as is.
 * Returns as aef_spawn; -EBADF for a negative stdio. */
int aef_spawn_stdio(pid_t *pid, const char *path, char *const argv[],
                    char *const envp[], int stdio);

/* The signals that have a handler (neither SIG_DFL nor SIG_IGN) into
 * *caught, read from the "SigCgt:" line of /proc/self/status
 * (AEF_HAVE_PROC_SIGCGT): one read instead of a query per signal, which is
 * what aef_spawn's child uses to reset handlers. Async-signal-safe (open,
 * read, close and the sigset functions; nothing allocated).
 * Returns 0, -ENOSYS where the line cannot be had (another system, no
 * /proc, an unexpected format), or -errno of open/read. */
int aef_spawn_caught(sigset_t *caught);

#endif
