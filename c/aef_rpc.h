/*
 * aef_rpc.h - the RPC data path of AnyEvent::Fork::RPC (no Perl headers).
 *
 * Wire format (AnyEvent::Fork::RPC 2.0, all integers unsigned 32-bit
 * big-endian):
 *   parent -> Sync child    "N/a*"   length, payload
 *   parent -> Async child   "NN/a*"  request id, length, payload
 *   child  -> parent        "NN/a*"  id (0: event, Sync: always 1), length,
 *                                    payload
 * Payloads are opaque here (the serialiser's freeze output); the default
 * string serialiser is aef_strlist_put/aef_strlist_get of aef.h.
 *
 * Pieces:
 *   - aef_rpc_reader: frame reader over a growing buffer, used by both
 *     sides (parent responses, child requests);
 *   - aef_rpc_frame_begin/end: frame writer into an aef_buf;
 *   - aef_rpc: the parent's state (reader, output buffer, request ids, the
 *     callbacks waiting for responses as opaque pointers);
 *   - aef_rpc_child: a worker's endpoint (requests in, responses and
 *     events out), used by both child backends;
 *   - aef_rpc_sync_serve: the whole loop of a synchronous child (its
 *     responses are batched while the requests are fast, see below).
 *
 * Conventions of aef.h apply: 0 or -errno, EINTR retried inside. Struct
 * fields are tagged as libuv's are: public (the caller may read and, where
 * said, write them), read-only (the caller may read them), private (only
 * this file's functions touch them).
 */
#ifndef AEF_RPC_H
#define AEF_RPC_H

#include "aef.h"

#include <sys/types.h>

/* Headers: 4 octets "N" (requests to a Sync child), 8 octets "NN". */
#define AEF_RPC_HDR_SYNC 4
#define AEF_RPC_HDR 8

/* Reads never ask for more than this unless a frame announced more. */
#define AEF_RPC_CHUNK_MAX (1024u * 1024u)

/* Buffers of at least this size ask for transparent huge pages: faulting
 * in fresh 4 KiB pages costs more than copying them. Large buffers are
 * also kept while they keep being used for large frames, and released
 * once a round of small ones leaves them mostly unused. */
#define AEF_RPC_HUGE (4u * 1024u * 1024u)

/* Ask for transparent huge pages for the 2 MiB-aligned part of [p, p + n)
 * when n >= AEF_RPC_HUGE. A hint: never fails, harmless elsewhere. */
void aef_rpc_advise(void *p, size_t n);

/* aef_buf_reserve, then aef_rpc_advise for storage that moved or grew. */
int aef_rpc_reserve(aef_buf *b, size_t extra);

/* Release b's storage if b is empty, larger than 64 KiB, and its largest
 * content since the last release (hi) used less than a quarter of it. */
void aef_rpc_settle(aef_buf *b, size_t hi);

/* ------------------------------------------------------------------------ */
/* frame reader                                                              */

/* A large frame's payload may be read in two parts: a prefix, kept in the
 * reader's buffer, and a body read straight into storage of its own, which
 * the caller can then take over (a string's buffer, with no copy). The
 * split function decides per frame, once the header and the first
 * AEF_RPC_SPLIT_PEEK payload octets are buffered (p, avail of the len
 * payload octets): it returns how many of them are the prefix (<= avail),
 * or AEF_RPC_SPLIT_NONE for a frame read the ordinary way. */
typedef size_t (*aef_rpc_split)(void *ctx, const uint8_t *p, size_t avail, size_t len);
#define AEF_RPC_SPLIT_NONE ((size_t)-1)
#define AEF_RPC_SPLIT_PEEK 16

typedef struct aef_rpc_reader {
  /* private */
  aef_buf buf;    /* received, not yet parsed bytes */
  size_t rlen;    /* the original's read-size state ("buflen") */
  size_t chunk;   /* current read size, grows while reads fill it */
  size_t hi;      /* largest frame since the last aef_rpc_reader_trim */
  unsigned hdr;   /* AEF_RPC_HDR_SYNC or AEF_RPC_HDR */
  aef_rpc_split split; /* see aef_rpc_reader_split */
  void *ctx;
  size_t split_min;    /* smallest payload offered to split */
  int asked;      /* split was asked about the frame at the front */
  aef_buf body;   /* the body of the front frame, or of the frame handed
                   * out last (given), or spare storage for the next one */
  size_t body_len;/* octets the front frame's body will have (0: none) */
  size_t prefix;  /* its payload octets before the body (in buf) */
  int given;      /* the frame handed out last has its body in body */
} aef_rpc_reader;

/* Initialise an empty reader; allocates nothing. rlen is the initial read
 * size (the "buflen"); 0 means the default 496. */
void aef_rpc_reader_init(aef_rpc_reader *r, unsigned hdr, size_t rlen);

/* One read(2) from fd, appending to the buffer. The read size follows the
 * original's rule (before each read, rlen becomes rlen * 2 + 16 when
 * rlen - 128 < buffered octets; read rlen - buffered), but may be larger:
 * reads that fill their space double the next read size (up to
 * AEF_RPC_CHUNK_MAX), and while a large frame is incomplete a read may ask
 * for as much as is buffered already (up to the rest of the frame). The
 * storage thus grows with the octets received, never with a length a
 * header announces: below four times the buffered octets plus twice the
 * read size (rlen or chunk), and never beyond the end of a large frame
 * (checked by c/t/t_bounds.c and c/fuzz/fuzz_rpc_reader.c).
 * Returns the octets read (> 0), 0 at end-of-file, -EAGAIN (non-blocking
 * fd, nothing there), -ENOMEM, -EMSGSIZE (a frame larger than size_t), or
 * -errno. At end-of-file and on every error but -EAGAIN the stream is
 * over: unless a complete frame is still buffered, the buffer's storage is
 * released before returning (a partial frame can never complete). */
ssize_t aef_rpc_reader_fill(aef_rpc_reader *r, int fd);

/* Take the next complete frame off the buffer. Returns 1 with *id (0 for
 * AEF_RPC_HDR_SYNC frames), *payload and *len set, or 0 when no complete
 * frame is buffered. *payload points into the reader's buffer and stays
 * valid until the next aef_rpc_reader_fill or aef_rpc_reader_trim. */
int aef_rpc_reader_next(aef_rpc_reader *r, uint32_t *id,
                        const uint8_t **payload, size_t *len);

/* Between rounds of frames: aef_rpc_settle of the buffer. Body storage
 * is released unless a frame of at least split_min octets came in the
 * round (a large one is likely to follow, and its pages are there). */
void aef_rpc_reader_trim(aef_rpc_reader *r);

/* Turn on split reading (see aef_rpc_split) for payloads of at least min
 * octets (min >= AEF_RPC_SPLIT_PEEK; NULL split: off). A body's storage
 * grows with the octets received, as the buffer does (geometrically, in
 * steps of at most the read size beyond what arrived; from AEF_RPC_HUGE
 * octets on rounded up to whole 2 MiB huge pages; and never beyond the
 * body's end plus 2 octets: room for a string's terminator and perl's
 * copy-on-write count). Storage given back (aef_rpc_reader_give) is used
 * as it is (for a body that needs at least half of it).
 * aef_rpc_reader_next then returns the frame with the prefix alone as its
 * payload (*len = the prefix's length); the body is had from
 * aef_rpc_reader_body or aef_rpc_reader_take. */
void aef_rpc_reader_split(aef_rpc_reader *r, aef_rpc_split split, void *ctx, size_t min);

/* The body of the frame aef_rpc_reader_next handed out last: 1 with *p and
 * *len (valid as the payload is), or 0 when that frame has none. */
int aef_rpc_reader_body(const aef_rpc_reader *r, const uint8_t **p, size_t *len);

/* As aef_rpc_reader_body, but the storage becomes the caller's: *p was
 * allocated with malloc, holds *len octets and has *cap >= *len + 2. */
int aef_rpc_reader_take(aef_rpc_reader *r, uint8_t **p, size_t *len, size_t *cap);

/* Hand back storage (from malloc, cap octets, or NULL) for the next body:
 * the reader keeps at most one (it frees what it kept before, or p when a
 * body is being read or handed out), and uses it for a body that needs at
 * least half of it. Trimming releases it as above. */
void aef_rpc_reader_give(aef_rpc_reader *r, void *p, size_t cap);

/* Release everything; the reader is empty and reusable afterwards. */
void aef_rpc_reader_free(aef_rpc_reader *r);

/* ------------------------------------------------------------------------ */
/* frame writer                                                              */

/* Append a frame header (hdr octets: for AEF_RPC_HDR the id, then a
 * placeholder length) and reserve room for reserve more payload octets.
 * *mark remembers the frame's start. The caller appends the payload to b,
 * then calls aef_rpc_frame_end; nothing may consume from b in between.
 * 0, -EMSGSIZE or -ENOMEM (b unchanged). */
int aef_rpc_frame_begin(aef_buf *b, unsigned hdr, uint32_t id,
                        size_t reserve, size_t *mark);

/* Patch the length of the frame begun at mark. -E2BIG when the payload is
 * larger than AEF_RPC_MAX: the frame is removed from b again. */
int aef_rpc_frame_end(aef_buf *b, unsigned hdr, size_t mark);

/* Fill hdr with the AEF_RPC_HDR octets of a frame header: id, len. */
void aef_rpc_header(uint8_t *hdr, uint32_t id, uint32_t len);

/* Remove the frame begun at mark (and everything after it) from b. */
void aef_rpc_frame_abort(aef_buf *b, size_t mark);

/* One write(2) of b's content to fd, consuming what was written. Returns
 * the octets still pending (0: drained; -EAGAIN is reported as pending) or
 * -errno. */
ssize_t aef_rpc_buf_write(aef_buf *b, int fd);

/* Write all of b's content to fd, waiting with poll(2) for writability when
 * fd is non-blocking. 0 or -errno (what was written is consumed). */
int aef_rpc_buf_flush(aef_buf *b, int fd);

/* ------------------------------------------------------------------------ */
/* parent state                                                              */

/* Callbacks waiting for a Sync response: matched by order. */
typedef struct aef_rpc_fifo {
  /* private */
  void **v;
  size_t head, n, cap;
} aef_rpc_fifo;

/* Callbacks waiting for an Async response: keyed by request id (never 0). */
typedef struct aef_rpc_map {
  /* private */
  uint32_t *key;  /* 0: free slot */
  void **val;
  size_t mask, n; /* capacity - 1 (capacity is a power of two), entries */
} aef_rpc_map;

typedef struct aef_rpc {
  /* public: a request's payload is appended here between aef_rpc_begin
   * and aef_rpc_end (nothing else may be done with it) */
  aef_buf out;        /* requests not yet written */
  /* read-only */
  int fd;             /* -1 until aef_rpc_connect */
  int async;          /* requests carry ids */
  /* private */
  int shutdown;       /* half-close once the output buffer drains */
  int closed;         /* half-closed */
  aef_rpc_reader in;  /* responses and events */
  size_t out_hi;      /* most octets waiting since it last drained */
  uint32_t id;        /* last request id (async) */
  size_t mark;        /* start of the request being built */
  aef_rpc_fifo fifo;
  aef_rpc_map map;
} aef_rpc;

/* Frame kinds returned by aef_rpc_next. */
enum {
  AEF_RPC_NONE = 0,   /* no complete frame buffered */
  AEF_RPC_EVENT,      /* id 0 */
  AEF_RPC_RESULT,     /* a response; *cb is the callback it answers */
  AEF_RPC_UNEXPECTED  /* a response nobody waits for */
};

/* Initialise; allocates nothing. async selects the request format and the
 * id bookkeeping; rlen is the response reader's initial read size. */
void aef_rpc_init(aef_rpc *r, int async, size_t rlen);

/* Release the buffers. Each callback still waiting is passed to drop
 * (with ctx), in request order for Sync, in no particular order for Async.
 * The descriptor is not closed: it belongs to the caller. */
void aef_rpc_free(aef_rpc *r, void (*drop)(void *ctx, void *cb), void *ctx);

/* The connection exists: fd is the non-blocking socket (owned by the
 * caller). */
void aef_rpc_connect(aef_rpc *r, int fd);

/* Build one request: aef_rpc_begin appends the header to r->out and
 * reserves room for size payload octets (0, -EMSGSIZE, -ENOMEM; r->out
 * unchanged on failure); the caller appends the payload to r->out;
 * aef_rpc_end finishes the frame and records cb (opaque, owned by the
 * caller until it comes back from aef_rpc_next or aef_rpc_free) as waiting
 * for the response. aef_rpc_end fails with -E2BIG (payload larger than
 * AEF_RPC_MAX) or -ENOMEM; the request is then removed again and cb is not
 * recorded. aef_rpc_abort removes an unfinished request. Nothing may
 * consume r->out (aef_rpc_write) while a request is being built. */
int aef_rpc_begin(aef_rpc *r, size_t size);
int aef_rpc_end(aef_rpc *r, void *cb);
void aef_rpc_abort(aef_rpc *r);

/* One write of the pending requests (nothing when connected is false or
 * nothing is pending). Returns the octets still pending, or -errno
 * (-EAGAIN is reported as pending; on any other error the pending
 * requests are dropped and their storage released). When the buffer is
 * drained and a shutdown was requested, half-closes the socket for
 * writing. */
ssize_t aef_rpc_write(aef_rpc *r);

/* Request the half-close; it happens at once when now is true and the
 * connection exists, else when aef_rpc_write drains the buffer. */
void aef_rpc_shutdown(aef_rpc *r, int now);

/* One read of responses (aef_rpc_reader_fill). When it reports the end
 * of the connection (0, or an error other than -EAGAIN), the requests not
 * written yet are dropped and their storage released, as the reader
 * releases a partial response. */
ssize_t aef_rpc_read(aef_rpc *r);

/* Take the next complete frame and resolve whom it is for: a response
 * (id != 0) answers the first Sync callback if any is waiting, else the
 * Async callback stored under its id. The frame and the callback are
 * removed; *cb (AEF_RPC_RESULT only) belongs to the caller again. The
 * payload pointer is valid as for aef_rpc_reader_next. */
int aef_rpc_next(aef_rpc *r, const uint8_t **payload, size_t *len, void **cb);

/* Number of callbacks still waiting for a response. */
size_t aef_rpc_outstanding(const aef_rpc *r);

/* Release large buffers that are empty (call between dispatch rounds). */
void aef_rpc_trim(aef_rpc *r);

/* ------------------------------------------------------------------------ */
/* child endpoint                                                            */

struct iovec;

/* A worker's side of the connection: requests are read from rfd, frames
 * ("NN/a*": responses, events) are queued in out and written to wfd.
 * Both backends use it: the Sync loop with blocking descriptors, the
 * Async backend with non-blocking ones under its event loop. */
typedef struct aef_rpc_child {
  /* public: a frame's payload is appended here between aef_rpc_child_begin
   * and aef_rpc_child_end (nothing else may be done with it) */
  aef_buf out;        /* frames not yet written */
  /* public: the Sync loop's batching limits (ns), AEF_RPC_SYNC_FAST and
   * AEF_RPC_SYNC_AGE after aef_rpc_child_init; may be changed before the
   * loop runs */
  uint64_t fast, age;
  /* read-only */
  int rfd, wfd;       /* owned by the caller */
  /* private */
  aef_rpc_reader in;  /* requests */
  size_t out_hi;      /* most octets waiting since it last drained */
  size_t mark;        /* start of the frame being built */
  uint64_t since;     /* Sync loop: when the oldest waiting frame was queued
                       * (ns; 0: none) */
  uint64_t took;      /* Sync loop: how long the last request took (ns) */
} aef_rpc_child;

/* Initialise for reading requests with hdr-octet headers (AEF_RPC_HDR_SYNC:
 * "N/a*", AEF_RPC_HDR: "NN/a*") from rfd, rlen being the initial read
 * size; allocates nothing. */
void aef_rpc_child_init(aef_rpc_child *c, int rfd, int wfd, unsigned hdr, size_t rlen);

/* One read of requests (aef_rpc_reader_fill), and the next complete one
 * (aef_rpc_reader_next: *id is 0 for "N/a*" requests); aef_rpc_child_trim
 * between rounds (aef_rpc_reader_trim). */
ssize_t aef_rpc_child_read(aef_rpc_child *c);
int aef_rpc_child_next(aef_rpc_child *c, uint32_t *id, const uint8_t **payload, size_t *len);
void aef_rpc_child_trim(aef_rpc_child *c);

/* Queue one frame with the given id (0: an event): aef_rpc_child_begin
 * appends the header and reserves room for size payload octets (0,
 * -EMSGSIZE, -ENOMEM; out unchanged on failure); the caller appends the
 * payload to c->out; aef_rpc_child_end patches the length (0, or -E2BIG
 * when the payload exceeds AEF_RPC_MAX: the frame is removed again). */
int aef_rpc_child_begin(aef_rpc_child *c, uint32_t id, size_t size);
int aef_rpc_child_end(aef_rpc_child *c);

/* One write(2) of the queued frames (for a non-blocking wfd): the octets
 * still pending (-EAGAIN is pending), or -errno. */
ssize_t aef_rpc_child_write(aef_rpc_child *c);

/* Write every queued frame now, waiting with poll(2) when wfd is
 * non-blocking. 0 or -errno; out is empty afterwards either way. */
int aef_rpc_child_flush(aef_rpc_child *c);

/* Flush, then write the n pieces of iov (one frame, from the caller's
 * memory), all of it. 0 or -errno. For a blocking wfd. */
int aef_rpc_child_writev(aef_rpc_child *c, const struct iovec *iov, int n);

/* Release the buffers (the descriptors are the caller's). */
void aef_rpc_child_free(aef_rpc_child *c);

/* ------------------------------------------------------------------------ */
/* synchronous child loop                                                    */

/* Responses are batched: a finished response waits in the output buffer
 * while further requests are already buffered or readable, the requests
 * are fast (the previous one took less than c->fast ns, by default
 * AEF_RPC_SYNC_FAST), the oldest waiting response is younger than c->age
 * ns (AEF_RPC_SYNC_AGE) and less
 * than AEF_RPC_CHUNK_MAX octets wait. Everything is written before the
 * loop blocks, before a request is handled when one of these limits is
 * reached, and with every event (aef_rpc_child_flush). The loop blocks in
 * poll(2), not in read(2): on a socket, a reader blocked in read(2) is
 * woken for nothing each time the peer reads what it wrote. */
#define AEF_RPC_SYNC_FAST 50000u   /* 50 us */
#define AEF_RPC_SYNC_AGE 250000u   /* 250 us */

/* Called once per request with its payload: queues exactly one complete
 * response frame (id 1), either with aef_rpc_child_begin/end, or (large
 * ones, to save the copy) written at once with aef_rpc_child_writev;
 * returns 0, or a non-zero value (a positive one of its choice or -errno)
 * that ends the loop. */
typedef int (*aef_rpc_handler)(void *ctx, const uint8_t *payload,
                               size_t len, aef_rpc_child *c);

/* The loop over c (made with AEF_RPC_HDR_SYNC and blocking descriptors):
 * it waits in poll(2), then reads; each complete request goes to h, whose
 * response is written as described above. Returns 0 at end-of-file or on a read error
 * (complete requests were answered and everything is written, a trailing
 * partial request is dropped), the handler's non-zero value (responses
 * queued before it were written first), -ENOMEM / -EMSGSIZE when a request
 * cannot be buffered, or the write's -errno. */
int aef_rpc_sync_serve(aef_rpc_child *c, aef_rpc_handler h, void *ctx);

#endif
