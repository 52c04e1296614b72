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

#endif
