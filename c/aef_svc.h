/*
 * Services (IPC::Manager-style) in the C core: the libevent wait step of a
 * service loop, the bus transports' byte-level helpers and the registry's
 * random ids. Perl-free; every function returns 0 (or a count) or -errno.
 */
#ifndef AEF_SVC_H
#define AEF_SVC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "aef.h"

/* Largest frame a ConnectionUnix stream may carry (payload bytes). */
#define AEF_SVC_FRAME_MAX (256u * 1024u * 1024u)

/* Largest datagram aef_svc_dgram_recv accepts. */
#define AEF_SVC_DGRAM_MAX (16u * 1024u * 1024u)

/* Writes a random (version 4) UUID, 36 characters plus NUL, into out; the
 * bytes come from getrandom(2) (or /dev/urandom where it is missing). */
int aef_svc_uuid(char out[37]);

/* This process's id, as getpid(2), without a system call once known (a
 * forked child forgets it through the same fork hook as the id pool;
 * without the hook it is getpid). */
pid_t aef_svc_getpid(void);

/* ConnectionUnix framing: a 4-byte big-endian length, then that many bytes.
 * Looks at the len bytes at p: returns 1 and sets *payload_len when a whole
 * frame is there (it occupies 4 + *payload_len bytes), 0 when more bytes
 * are needed, -EMSGSIZE when the announced length exceeds max. Reads only
 * p[0..len). */
int aef_svc_frame_next(const uint8_t *p, size_t len, size_t max, size_t *payload_len);

/* Appends one frame (header and payload) to b. 0, -EMSGSIZE (payload over
 * AEF_SVC_FRAME_MAX or over the buffer's bound) or -ENOMEM. */
int aef_svc_frame_put(aef_buf *b, const void *payload, size_t len);

/* The stamp of a new bus message: seconds and microseconds since the epoch
 * and the tie counter (stamp_ord). All fields public; the caller owns the
 * struct (one per process) and zeroes it before the first use. */
typedef struct aef_svc_stamp {
  int64_t sec;
  long usec;      /* 0 .. 999999 */
  uint64_t ord;   /* 0 when the time differs from the previous stamp's, else one more */
} aef_svc_stamp;

/* Advances st to the time (sec, usec): ord counts up while the time
 * repeats and restarts at 0 when it changes. */
void aef_svc_stamp_next(aef_svc_stamp *st, int64_t sec, long usec);

/* aef_svc_stamp_next with the time now (gettimeofday): 0 or -errno. */
int aef_svc_stamp_now(aef_svc_stamp *st);

/* The length of the JSON string of the len bytes at s (as
 * aef_svc_json_str writes it), or -EINVAL when a byte is 0x80 or above. */
long aef_svc_json_str_size(const char *s, size_t len);

/* Writes the JSON string of the len bytes at s to dst (room for
 * aef_svc_json_str_size bytes, at most 6 * len + 2): quoted, with '"',
 * '\\' and control characters escaped. Only ASCII text qualifies: returns
 * the length written, or -EINVAL (dst undefined) when a byte is 0x80 or
 * above. */
long aef_svc_json_str(char *dst, const char *s, size_t len);

/* A new message's JSON text, {"from":F,"to":T,"content":C,"stamp":S,
 * "stamp_ord":O,"id":"ID"}, is written in two parts around the content's
 * text C: the head up to "content": and the tail from ,"stamp": on. */

/* Room aef_svc_msg_head needs beyond the two JSON texts it is given, and
 * room aef_svc_msg_tail needs. */
#define AEF_SVC_MSG_HEAD 32u
#define AEF_SVC_MSG_TAIL 128u

/* Writes the head to dst (room bytes, at least fl + tl + AEF_SVC_MSG_HEAD)
 * with F and T the JSON texts given (not checked). Returns the length
 * written (no NUL) or -EMSGSIZE when room is too small. */
long aef_svc_msg_head(char *dst, size_t room, const char *from, size_t fl, const char *to, size_t tl);

/* Writes the tail to dst (room bytes, at least AEF_SVC_MSG_TAIL): S is
 * st's time as SEC.USEC (six digits), O its ord, ID the 36 characters of
 * id. Returns the length written (no NUL) or -EMSGSIZE when room is too
 * small. */
long aef_svc_msg_tail(char *dst, size_t room, const aef_svc_stamp *st, const char *id);

/* Receives the next datagram of the (non-blocking) socket fd whole into b
 * (b is emptied first; it grows to the datagram's actual size as reported
 * by the kernel, never beyond AEF_SVC_DGRAM_MAX). 0 on success (an empty
 * datagram leaves b empty), -EAGAIN when none is queued, -EMSGSIZE when the
 * datagram was larger than the bound (it is consumed and dropped), other
 * -errno on failure. */
int aef_svc_dgram_recv(int fd, aef_buf *b);

/* As aef_svc_dgram_recv, for the datagrams after the first of a batch:
 * when the kernel reports nothing measurable queued it returns -EAGAIN at
 * once instead of looking for an empty datagram (one stays queued, and
 * the socket stays readable for the next aef_svc_dgram_recv). */
int aef_svc_dgram_recv_more(int fd, aef_buf *b);

/* An inotify descriptor (non-blocking, close-on-exec) watching directory
 * dir for entries renamed into it (how message files arrive) and, with
 * peers true, also for entries created or removed (peers joining and
 * leaving a route), else also for changes of dir's own attributes (see
 * aef_svc_files_take_announced). Returns the descriptor or -errno
 * (-ENOSYS where there is no inotify). */
int aef_svc_watch_open(const char *dir, int peers);

/* Reads and discards every queued event of a watch descriptor. Returns the
 * number of events read or -errno. */
int aef_svc_watch_drain(int fd);

/* Largest message file aef_svc_files_take reads. */
#define AEF_SVC_FILE_MAX (256u * 1024u * 1024u)

/* Largest message file kept as a spare with its contents (one block; see
 * aef_svc_files_take); a larger one is emptied first. */
#define AEF_SVC_SPARE_KEEP 4096u

/* Spares held open: the descriptors of the last files aef_svc_files_take
 * kept as spares (at most AEF_SVC_HELD of them, the oldest closed first),
 * for aef_svc_file_put to write through (no open, stat or close of its
 * own: a spare taken and sent again costs three system calls fewer), and
 * descriptors of the two folders (files named relative to them). The
 * caller owns the struct: aef_svc_held_init before the first use,
 * aef_svc_held_clear (closes every descriptor) when done with it; every
 * field is private. Only spares of at most AEF_SVC_SPARE_KEEP bytes and
 * names shorter than AEF_SVC_HELD_NAME are held. A held descriptor is
 * close-on-exec; a forked child that frees its copy closes its own. */
#define AEF_SVC_HELD 16
#define AEF_SVC_HELD_NAME 80
typedef struct aef_svc_held {
  size_t n;
  struct {
    int fd;
    size_t size;
    char name[AEF_SVC_HELD_NAME];
  } f[AEF_SVC_HELD];
  /* the folder taken from and the spare folder (on Linux, opened by the
   * first take, reopened when a take names others): the files in them
   * are named relative to these descriptors, without a path walk */
  int dir_fd, spare_fd;
  char *dir, *spare_dir;
} aef_svc_held;

void aef_svc_held_init(aef_svc_held *held);
void aef_svc_held_clear(aef_svc_held *held);

/* MessageFiles: writes len bytes of data to dir/NAME.pend (created, never
 * replaced) and renames it to dir/NAME.ready, which must not exist yet:
 * readers see all or nothing. 0, or -errno with *step telling what
 * failed: 1 creating the .pend file (-EEXIST: it exists), 2 writing it, 3
 * renaming it (-EEXIST: the .ready file exists; -ENOENT: dir is gone). A
 * failed step leaves no .pend file of ours behind (step 1 leaves the
 * existing one alone). -ENAMETOOLONG when a path would exceed PATH_MAX
 * (*step 1).
 *
 * spare_dir, spare: NULL, or the spare spare_dir/spare to use instead of
 * a new file (a regular file of the caller's, kept by
 * aef_svc_files_take, on dir's file system; what it holds is replaced):
 * the data is written over its contents where it is (and the file cut
 * to len bytes), and it is renamed straight to dir/NAME.ready (never
 * replacing one), which is as atomic for readers and allocates no inode.
 * held: NULL, or the held descriptors, one of which may be the spare's
 * (it is then written through and closed; see aef_svc_held). A spare
 * that cannot be opened (or, held, is no longer there) is ignored (the
 * .pend file is created as without one); once opened it is used up: a
 * failed write (step 2) or rename (step 3) removes it. Spares are used
 * only where the no-replace rename exists (Linux); elsewhere they are
 * ignored. */
int aef_svc_file_put(const char *dir, const char *name, const void *data, size_t len,
                     const char *spare_dir, const char *spare, aef_svc_held *held, int *step);

/* Called by aef_svc_files_take per file: its name (without the directory)
 * and contents, valid during the call only; spared is 1 when the file was
 * kept as a spare (spare_dir/NAME without the suffix), else 0 (removed). */
typedef void (*aef_svc_file_cb)(void *arg, const char *name, const uint8_t *data, size_t len,
                                int spared);

/* MessageFiles: takes the messages of directory dir: every entry whose
 * name ends in suffix, in name order, read whole
 * (up to AEF_SVC_FILE_MAX bytes; a larger one is given truncated, len
 * AEF_SVC_FILE_MAX) and removed, then given to cb. A file that vanished
 * or cannot be read is skipped (and left alone when it cannot be
 * opened). With spare_dir (a folder on dir's file system; NULL: none) up
 * to spare_room of the files taken are renamed into it instead of being
 * removed, as spares for aef_svc_file_put (Linux only; one we may not
 * write to, or that cannot be moved, is removed). A spare keeps its old
 * contents (the next message is written over them) unless it is larger
 * than AEF_SVC_SPARE_KEEP bytes: then it is emptied. held: NULL, or where
 * the descriptors of the spares kept stay open (see aef_svc_held).
 * Returns the number given to cb, or -errno when dir cannot be read. */
int aef_svc_files_take(const char *dir, const char *suffix, const char *spare_dir,
                       size_t spare_room, aef_svc_held *held, aef_svc_file_cb cb, void *arg);

/* Called by aef_svc_watch_names per name: name[0..len), no NUL inside,
 * valid during the call only. */
typedef void (*aef_svc_name_cb)(void *arg, const char *name, size_t len);

/* Parses buf[0..len), the bytes one read of an inotify descriptor gave
 * (struct inotify_event records: a 16-byte header in this machine's byte
 * order, then the NUL-padded name), and gives cb the name of every entry
 * renamed into the watched folder (IN_MOVED_TO) that ends in suffix, in
 * the order read. Returns the number given; -EOVERFLOW when an event says
 * the kernel dropped events (the names are given all the same); -EBADMSG
 * when a record runs past len (the names before it were given). Reads
 * only buf[0..len); portable (it only parses). */
int aef_svc_watch_names(const uint8_t *buf, size_t len, const char *suffix, aef_svc_name_cb cb,
                        void *arg);

/* MessageFiles with a watch: reads every event queued on wfd (a
 * non-blocking descriptor of aef_svc_watch_open on dir) and takes the files
 * they announced as aef_svc_files_take takes files (in name order, spares
 * and all), without listing dir. When the events announced none, dropped
 * some, or wfd cannot be read, it takes every file of dir instead
 * (aef_svc_files_take). Returns as aef_svc_files_take. A .ready file that
 * arrived before the watch existed is only found by a listing: the caller
 * uses aef_svc_files_take for its first look. */
int aef_svc_files_take_watched(int wfd, const char *dir, const char *suffix, const char *spare_dir,
                               size_t spare_room, aef_svc_held *held, aef_svc_file_cb cb,
                               void *arg);

/* As aef_svc_files_take_watched, except when the events announced no file
 * (none queued, a read that would block): then it takes nothing and
 * returns 0 without listing dir (events dropped by the kernel, or a watch
 * that cannot be read, still make it take every file of dir). For a
 * client that wants the messages already there at the cost of one read
 * when there are none: every event it consumes has its file taken, so no
 * arrival is left unannounced. When it took any, it sets dir's times to
 * now (utimensat), which queues an attribute event on the watch of
 * aef_svc_watch_open(dir, 0): a caller holding the messages taken still
 * finds the watch readable, as it was before the call (the next
 * aef_svc_files_take_watched, announced no file by that event, lists
 * dir). */
int aef_svc_files_take_announced(int wfd, const char *dir, const char *suffix,
                                 const char *spare_dir, size_t spare_room, aef_svc_held *held,
                                 aef_svc_file_cb cb, void *arg);

/* 1 if pid is a process that can still run (signal 0 reaches it, or EPERM)
 * and is not a zombie (judged from /proc without reaping it), else 0. A
 * zombie reaped while it is looked at is 0; without /proc a zombie is 1. */
int aef_svc_pid_alive(pid_t pid);

/* The inode number of the file path names (through symlinks), in *ino:
 * 0 or -errno (*ino untouched). */
int aef_svc_file_ino(const char *path, uint64_t *ino);

/* The pid named by a pidfile (its leading decimal digits), if that process
 * is alive in the sense of aef_svc_pid_alive: returns the pid, 0 when the
 * file is missing, empty, or names no live process, or -errno when it
 * cannot be read. */
long aef_svc_pidfile_pid(const char *pidfile);

/* Writes pid in decimal to pidfile.pend (created or truncated, mode 0666
 * less the umask) and renames it to pidfile, replacing it: readers see the
 * old file or the new one, whole. 0, or -errno with *step telling what
 * failed: 1 creating the .pend file, 2 writing or closing it, 3 renaming it;
 * a step that fails after 1 removes the .pend file. -ENAMETOOLONG when the
 * .pend path would exceed PATH_MAX (*step 1). */
int aef_svc_pidfile_put(const char *pidfile, long pid, int *step);

/* Waits until aef_svc_pidfile_pid(pidfile) names a live process, at most
 * timeout_ms (< 0: no limit). wfd is an inotify descriptor watching the
 * pidfile's directory for entries created and renamed into it (see
 * aef_svc_watch_open; its queued events are consumed), or -1: the file is
 * then checked every 50 ms. A pidfile that cannot be read counts as absent.
 * Returns the pid, 0 on timeout, or -errno when the watch cannot be read or
 * polled. */
long aef_svc_pidfile_wait(const char *pidfile, int wfd, long timeout_ms);

/* What a client's bus entry is, for aef_svc_register. */
enum {
  AEF_SVC_ENTRY_DGRAM = 1,  /* a bound datagram socket (UnixSocket) */
  AEF_SVC_ENTRY_STREAM = 2, /* a bound, listening stream socket (ConnectionUnix) */
  AEF_SVC_ENTRY_DIR = 3     /* a folder (MessageFiles) */
};

/* Registers a client on its route in one step, as a forked service does
 * first thing when nothing of its own runs before it registers: makes the
 * entry path (DGRAM: binds the unbound AF_UNIX socket fd to it; STREAM:
 * binds it and listens with the system's backlog; DIR: makes the folder,
 * mode 0777 less the umask, fd unused, and, when watch is not NULL, opens
 * a watch of it for message files, aef_svc_watch_open(path, 0), into
 * *watch: the caller's, -1 where there is no inotify), then writes pid to
 * path.pid as aef_svc_pidfile_put does and removes path.suspend (absent
 * is fine). Whoever sees the pidfile may send at once: everything that
 * receives is in place before it is written. fd stays the caller's.
 *
 * 0, or -errno: -EINVAL for an unknown kind, -ENAMETOOLONG when path does
 * not fit a socket address (or path.pid PATH_MAX), -EEXIST or -EADDRINUSE
 * when the entry exists already (it is left alone). A failure after the
 * entry was made removes the entry, the watch and the pidfile's .pend
 * again: a failure never leaves anything of the client's in the route (a
 * bound socket stays bound to the removed path: the caller uses a new
 * one). */
int aef_svc_register(int kind, const char *path, int fd, long pid, int *watch);

/* Releases what descriptor fd refers to while keeping the number taken:
 * fd becomes a close-on-exec descriptor of /dev/null. For a process that
 * holds another process's descriptors in objects it frees later (after a
 * fork): the socket or watch behind fd is let go at once, and closing fd
 * later closes /dev/null, never a descriptor opened meanwhile under the
 * same number. 0 or -errno (-EBADF when fd is not open: nothing done). */
int aef_svc_fd_release(int fd);

/*
 * The service loop's wait step on libevent. A loop (opaque; one per process
 * that runs a service) waits, in one call, for the first of: a descriptor of
 * rfds readable, one of wfds writable, a grabbed signal, a child exit (when
 * reap is set), a watched pid gone, or the timeout.
 */
typedef struct aef_svc_loop aef_svc_loop;

typedef struct aef_svc_reaped {
  pid_t pid;
  int status; /* raw wait status */
} aef_svc_reaped;

/* Input and output of one wait. The caller owns every array. Public fields,
 * all read-only for the core except the outputs marked "out". */
typedef struct aef_svc_wait {
  const int *rfds; size_t nr;  int *rready;   /* out: rready[i] = 1 if rfds[i] readable */
  const int *wfds; size_t nw;  int *wready;   /* out: wready[i] = 1 if wfds[i] writable */
  const int *sigs; size_t nsig; unsigned *sigcount; /* out: added to: deliveries per sigs[i] */
  const pid_t *watch; size_t nwatch; int *gone; /* out: gone[i] = 1 if watch[i] no longer runs */
  int reap;                                   /* reap exited children into reaped */
  aef_svc_reaped *reaped; size_t reaped_cap;  /* out: nreaped entries filled */
  size_t nreaped;                             /* out */
  long timeout_ms;                            /* < 0: no timeout */
} aef_svc_wait;

/* Creates a loop (on a new libevent base). 0 or -ENOMEM. */
int aef_svc_loop_new(aef_svc_loop **out);
/* Frees it (NULL is fine). */
void aef_svc_loop_free(aef_svc_loop *loop);

/* Reaps exited children first (non-blocking, when w->reap; if any were
 * reaped, or a watched pid is already gone, it returns without waiting),
 * then waits as described. Signals in w->sigs and SIGCHLD (when the
 * process has children: without any none can come) are handled by the
 * loop only during the call; the previous dispositions are restored
 * before it returns. Returns the number of reasons it woke for (0 on
 * timeout) or -errno. */
int aef_svc_loop_wait(aef_svc_loop *loop, aef_svc_wait *w);

#endif
