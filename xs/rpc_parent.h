/*
 * rpc_parent.h - the parent side of AnyEvent::Fork::RPC (rpc_parent.c;
 * XSUBs in rpc_parent.xsh): the AnyEvent::Fork::RPC::Core object, which
 * queues requests, dispatches responses and events, and owns the watchers.
 */
#ifndef AEF_XS_RPC_PARENT_H
#define AEF_XS_RPC_PARENT_H

#include "util.h"

/* typemap T_AEF_XS_RPC; opaque outside rpc_parent.c */
typedef struct aef_xs_rpc aef_xs_rpc;

/* The state behind an AnyEvent::Fork::RPC::Core object (made by
 * aef_xs_rpc_new: util.h's magic idiom); croaks on anything else, forged
 * blessed references included, and on a destroyed object. */
aef_xs_rpc *aef_xs_rpc_from(pTHX_ SV *sv);

/* A new object (a new reference blessed into klass): async selects the
 * request format, rlen the response reader's initial read size, serialiser
 * the serialiser's text and freeze / thaw what it evaluated to, on_* the
 * user's callbacks (copied). */
SV *aef_xs_rpc_new(pTHX_ const char *klass, int async, UV rlen, SV *serialiser, SV *freeze,
                   SV *thaw, SV *on_event, SV *on_error, SV *on_destroy);

/* The child's socket is there: make it non-blocking, start the watchers
 * (the read watcher keeps the object alive until end-of-file or an error)
 * and write what was queued. Croaks when already connected or when
 * AnyEvent dies. */
void aef_xs_rpc_connect(pTHX_ aef_xs_rpc *st, SV *fh);

/* The RPC object the user gets: a code reference that queues a request;
 * freeing it requests the shutdown. A new reference. */
SV *aef_xs_rpc_closure(pTHX_ aef_xs_rpc *st);

/* DESTROY: release the state now, while the interpreter is whole (also in
 * global destruction); idempotent, and the magic's free hook does the same
 * for an object that was never destroyed. Ignores foreign values. */
void aef_xs_rpc_destroy(pTHX_ SV *self);

/* Hold the writes of requests queued from now on (outside the readers'
 * callbacks, whose requests wait for the loop under EV anyway) until the
 * matching aef_xs_rpc_release, so that requests a burst gives the same
 * object leave in one write. Holds nest. No event loop may be run while
 * holding: what is held is not written meanwhile. */
void aef_xs_rpc_hold(pTHX);

/* End a hold; the last one writes (or leaves to a write watcher) what was
 * held. 0, or -1 with $@ set when a write watcher could not be made (the
 * others are written all the same). */
int aef_xs_rpc_release(pTHX);

#endif
