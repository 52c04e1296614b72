/*
 * Services glue (declarations): the Perl side of c/aef_svc.h, as
 * IPC::Manager::Core. The code is in xs/svc.c, the XSUBs in xs/svc.xsh.
 *
 * IPC::Manager::Core::Loop objects are made by aef_xs_obj_new (util.h) and
 * own one aef_svc_loop; the vtable's free hook frees it. The typemap
 * croaks on anything else.
 */
#ifndef AEF_XS_SVC_H
#define AEF_XS_SVC_H

#include "util.h"
#include "aef_svc.h"
#include "aef_svc_json.h"

typedef aef_svc_loop *IPC__Manager__Core__Loop;

/* The loop behind a Loop object; croaks on a foreign object. */
aef_svc_loop *aef_xs_svc_loop_get (pTHX_ SV *sv);

/* A new Loop object blessed into klass; croaks when libevent fails. */
SV *aef_xs_svc_loop_new (pTHX_ SV *klass);

/* One wait step (see aef_svc_loop_wait): rfds, wfds hold descriptors or
 * handles, sigs signal numbers, watch pids. Returns a new hash reference
 * {r => [readable rfds entries], w => [writable wfds entries],
 *  sigs => {signum => count}, reaped => {pid => raw status},
 *  gone => [pids]}, with sparse only the entries that are not empty;
 * croaks (with $! set) when the wait fails. */
SV *aef_xs_svc_wait (pTHX_ aef_svc_loop *loop, AV *rfds, AV *wfds, AV *sigs,
                     AV *watch, int reap, NV timeout, int sparse);

/* The next datagram of a socket, whole; undef with $! set (EAGAIN when
 * none is queued, EMSGSIZE when it was dropped for being too large). */
SV *aef_xs_svc_dgram_recv (pTHX_ int fd);

/* Every datagram queued on a socket, whole and in order, pushed on out
 * (new SVs); one too large to receive is dropped and pushed as undef.
 * Stops when none is left (EAGAIN) or on another error. */
void aef_xs_svc_dgram_recv_all (pTHX_ int fd, AV *out);

/* Every message file of dir ending in suffix, taken (see
 * aef_svc_files_take; with a watch descriptor wfd >= 0, the ones it
 * announced, see aef_svc_files_take_watched, or with announced set only
 * those, see aef_svc_files_take_announced): pushed on out as name,
 * contents pairs. With spares (NULL: none), files are kept as spares in
 * spare_dir until spares holds max names: the names of those kept are
 * pushed on it, and the descriptors of the last ones stay open in ext magic
 * on spares (see aef_svc_held) until file_put uses them or spares is
 * freed. -errno when dir cannot be read, else the number of files. */
int aef_xs_svc_files_take (pTHX_ int wfd, int announced, const char *dir, const char *suffix,
                           const char *spare_dir, AV *spares, IV max, AV *out);

/* aef_svc_file_put of data's bytes, with the last spare named in spares
 * (removed from it; NULL or empty: none), a file of spare_dir, written
 * through its held descriptor when spares holds it. */
int aef_xs_svc_file_put (pTHX_ const char *dir, const char *name, SV *data, const char *spare_dir,
                         AV *spares, int *step);

/* Complete frames at the front of buf (removed from it): returns a mortal
 * AV of their payloads; *too_large is set when the next frame announces
 * more than AEF_SVC_FRAME_MAX bytes (the stream cannot be resynchronised).
 * With decode set, a payload aef_xs_svc_msg_decode reads is pushed as that
 * message instead. Croaks on a read-only buffer. */
AV *aef_xs_svc_frames (pTHX_ SV *buf, int decode, int *too_large);

/* The value of the JSON text at s (len bytes), a new SV built as the
 * default serializer's coder (Cpanel::JSON::XS) builds it, when the text
 * is simple (see c/aef_svc_json.h: strings, integers, decimal fractions,
 * null, objects and arrays; true and false become copies of
 * $Cpanel::JSON::XS::true and ::false), else NULL: the caller hands the
 * text to the coder, which decides (also on duplicate keys, texts deeper
 * than AEF_SVC_JSON_DEPTH, and texts over 64 KiB with more than 128
 * tokens). Does not croak. */
SV *aef_xs_svc_json_decode (pTHX_ const char *s, size_t len);

/* aef_xs_svc_json_decode of a bus message: a new reference to the decoded
 * hash blessed into IPC::Manager::Message when it has defined from, to,
 * content, stamp, stamp_ord and id (what IPC::Manager::Message::_received
 * blesses as it is), else NULL (the caller decodes it the usual way). */
SV *aef_xs_svc_msg_decode (pTHX_ const char *s, size_t len);

/* Whether the n messages at msgs are in the order
 * IPC::Manager::Message::sort_messages gives them (by stamp, then
 * stamp_ord, an undefined one counting as 0; equal ones as they are): 1
 * when each is a hash reference whose stamp and stamp_ord are plain
 * numbers (no magic, not strings, not NaN) in that order, else 0 (the
 * caller sorts). Does not croak. */
int aef_xs_svc_msgs_in_order (pTHX_ SV **msgs, SSize_t n);

/* A frame holding payload. */
SV *aef_xs_svc_frame (pTHX_ SV *payload);

/* Advances this process's message stamp (aef_svc_stamp_now) and returns
 * it: *sec_out as fractional seconds, *ord_out its tie counter. Croaks
 * when the time cannot be read. */
void aef_xs_svc_stamp (pTHX_ NV *sec_out, UV *ord_out);

/* Appends a new message's JSON text (aef_svc_msg_head, the content,
 * aef_svc_msg_tail, with a new id and the next stamp), as a frame when
 * framed, to buf: returns the id (a new SV). from and to are JSON texts;
 * content is one too, or with data set the content itself, written when it
 * is simple data: undef, strings of ASCII characters (not numbers too),
 * integers (not strings too), and unblessed, untied hashes and arrays of
 * those, nested at most AEF_XS_JSON_DEPTH deep (as the default
 * serializer's coder writes them but for the order of hash keys);
 * returns NULL (buf unchanged) for other data. With data 2, the content
 * is that of a request, {ipcm_request_id => rid, request => content},
 * written as the hash would be (rid first) when rid and content are
 * simple data (NULL otherwise); with data 3 likewise that of a response,
 * {ipcm_response_id => rid, response => content}. Croaks on a read-only buffer, when there
 * are no random bytes or no time, and, for a frame over
 * AEF_SVC_FRAME_MAX, "frame too large" (buf unchanged). */
#define AEF_XS_JSON_DEPTH 8
SV *aef_xs_svc_msg_put (pTHX_ SV *buf, int framed, SV *from, SV *to, SV *content, int data, SV *rid);

/* ipcm_service's fork. reg is undef, or [kind, path, socket, want_watch,
 * name] (kind as for register_entry); child_drop and parent_drop (NULL:
 * none) hold descriptors or handles, at most AEF_XS_SVC_FORK_FDS in all.
 * Every argument is checked (croaks) before the fork. Then perl's fork
 * (aef_xs_fork), and before either process runs any Perl: in the child,
 * with reg, the name other processes see set to name (on Linux as perl's
 * $0 magic writes it, perl's own assignment to $0 following once the
 * client is registered; elsewhere that assignment first) and the client
 * registered with the child's pid (aef_svc_register; *watch set to the
 * watch's descriptor, -1 for none, or to -2 with errno set when that
 * failed), then each descriptor of child_drop released
 * (aef_svc_fd_release); in the parent, each of parent_drop released.
 * Returns what fork returns (-1: errno set, nothing released). */
#define AEF_XS_SVC_FORK_FDS 32
pid_t aef_xs_svc_fork (pTHX_ SV *reg, AV *child_drop, AV *parent_drop, int *watch);

/* Whether dropping what ref refers to, at any time, is the same to a
 * program: 1 when what it refers to (an object allowed, but for its
 * destructor, which the caller judges) and everything reachable from it
 * (array and hash elements, referents) holds no other object, no magic
 * (ties, weak references to it, ...), no hash weakly referred to, no
 * glob or handle of its own and no closure (code holding variables; named
 * subs and anonymous ones without variables are fine), in at most budget
 * nodes; else 0. Reads only. */
int aef_xs_svc_free_is_quiet (pTHX_ SV *ref, IV budget);

/* The AEF_SVC_ENTRY_ kind named kind ("dgram", "stream", "dir"); croaks
 * "FUNC: unknown kind 'KIND'" otherwise. */
int aef_xs_svc_kind (pTHX_ const char *func, const char *kind);


#endif
