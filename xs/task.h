/*
 * Task glue (C part), owned by the AnyEvent::Task work: declarations only;
 * the definitions are in xs/task.c, the XSUBs in xs/task.xsh.
 *
 * Two objects, each a blessed reference to a scalar carrying ext magic
 * whose free hook releases the C struct; the vtable's address tells our
 * objects from foreign ones (the typemap croaks on anything else):
 *   AnyEvent::Task::Split                  an aef_task_split (client side)
 *   AnyEvent::Task::Server::Worker::Loop   an aef_task_worker (worker side)
 */
#ifndef AEF_XS_TASK_H
#define AEF_XS_TASK_H

#include "util.h"
#include "aef_task.h"

typedef aef_task_split *AnyEvent__Task__Split;
typedef aef_task_worker *AnyEvent__Task__Server__Worker__Loop;

/* New objects of class klass owning a fresh struct. Croak only before
 * allocating. */
SV *aef_xs_task_split_new (pTHX_ SV *klass, UV max);
SV *aef_xs_task_loop_new (pTHX_ SV *klass, int fd, unsigned alarm_secs);

/* The struct behind an object; croak on anything else. */
aef_task_split *aef_xs_task_split_get (pTHX_ SV *sv);
aef_task_worker *aef_xs_task_loop_get (pTHX_ SV *sv);

/* The next message as a new mortal SV: the bytes, &PL_sv_undef when more
 * are needed, "" when the stream is corrupt (never a valid message). */
SV *aef_xs_task_split_take (pTHX_ aef_task_split *s);

/* Read at most one chunk from fd into s: bytes read, 0 at end-of-file,
 * -errno (-EAGAIN included). */
long aef_xs_task_split_fill (pTHX_ aef_task_split *s, int fd);

/* The forker's loop (aef_task_forker_next with perl's way of forking):
 * flushes every perl handle, then returns 0 only in a worker, with its
 * connection in *fd and its number in *n; in the forker, -errno when the
 * server is gone or the hand-over socket failed. */
int aef_xs_task_forker_next(pTHX_ int hand, int *fd, UV *n);

/* The code reference $checkout->(...) calls: an XSUB holding its own
 * reference to the checkout (a blessed hash; croaks on anything else,
 * before allocating) and copies of the other four arguments, which the
 * common case (see xs/task.c) uses: record, a reference to
 * Callback::Frame::_aef_record (anything else: no common case); json, a
 * reference to the variable holding the JSON encoder; here, a reference
 * to the [file, line] the frames are said to be made at; top, a reference
 * to the glob *Callback::Frame::top (the current frame). The caller owns
 * the returned reference. Other calls go to the Perl
 * AnyEvent::Task::Client::Checkout::_queue_request ($checkout, undef,
 * ARGS); what that dies with is rethrown. */
SV *aef_xs_task_code_new (pTHX_ SV *checkout, SV *record, SV *json, SV *here, SV *top);

/* The checkout's &{} overload: a new mortal copy of $checkout->{code}
 * when it holds a reference, else what the Perl
 * AnyEvent::Task::Client::Checkout::_make_code ($checkout) returns (what
 * that dies with is rethrown). */
SV *aef_xs_task_deref (pTHX_ SV *checkout);

/* The client's reply loop (AnyEvent::Task::Client's read handler, after
 * a read): hands every complete reply buffered in the worker's splitter
 * to its handler, in order, until none is left or the worker is dead.
 * worker is the client's worker hash (croaks on anything else, before
 * anything changed), client the client (passed on, may be undef). A reply
 * that is not a JSON array, or that no request waits for, breaks the
 * connection (AnyEvent::Task::Client::_conn_error). An "ok" reply whose
 * request has a light frame and no deferred log is handled here
 * (AnyEvent::Task::Client::Checkout::_run_ok runs its callback; the timer
 * goes; the next queued request is written); every other reply goes to
 * Checkout::_reply. What a callback or the bookkeeping died with does not
 * stop the loop: the first such error is returned as a new SV (the caller
 * owns it), else NULL. */
SV *aef_xs_task_replies (pTHX_ SV *client, SV *worker);

/* The read handler of a client's worker connection: reads one chunk into
 * the worker's splitter (nothing when the read would block or was
 * interrupted; end-of-file or an error: AnyEvent::Task::Client::_conn_error),
 * then aef_xs_task_replies with $AnyEvent::Task::Client::READING the
 * worker, then writes what the handlers left in the worker's buffer
 * (unless it is dead or waits for the socket). Croaks with the first
 * error of the handlers or of _conn_error, after all that (croaks on a
 * worker that is not one, before anything). */
void aef_xs_task_on_read (pTHX_ SV *client, SV *worker);

#endif
