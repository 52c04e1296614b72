/*
 * rpc_codec.h - serialising for both sides of AnyEvent::Fork::RPC
 * (rpc_codec.c; the XSUB is in rpc_codec.xsh): payloads from Perl values
 * with the user's freeze function or the C core's string-list codec, and
 * values from payloads.
 */
#ifndef AEF_XS_RPC_CODEC_H
#define AEF_XS_RPC_CODEC_H

#include "util.h"
#include "aef_rpc.h"

/* the text of $AnyEvent::Fork::RPC::STRING_SERIALISER; a serialiser with
 * exactly this text uses the built-in string-list codec of the C core */
#define AEF_XS_STRING_SERIALISER \
  "(sub { pack \"(w/a*)*\", @_ }, sub { unpack \"(w/a*)*\", shift })"

/* A serialiser: the functions its text evaluated to, and whether it is
 * the built-in string serialiser (then the C core's codec does the work
 * for plain values). Fields are read-only outside rpc_codec.c. */
typedef struct aef_xs_codec {
  SV *freeze, *thaw;
  int fast;
  /* a worker's recycling of large request strings (aef_xs_codec_reclaim):
   * recycle is public (set it after aef_xs_codec_init), big private */
  int recycle;
  SV *big;            /* the large string thawed for the current request */
} aef_xs_codec;

/* Set up from the serialiser's text and the two functions it evaluated to
 * (copied). This is the one place that decides "built-in string
 * serialiser": the text is exactly AEF_XS_STRING_SERIALISER. */
void aef_xs_codec_init(pTHX_ aef_xs_codec *c, SV *text, SV *freeze, SV *thaw);

/* Release the functions. */
void aef_xs_codec_free(pTHX_ aef_xs_codec *c);

/* For the built-in serialiser: read large payloads of r that are exactly
 * one string straight into that string's buffer (aef_rpc_reader_split;
 * aef_xs_thaw then hands the buffer to the string without a copy).
 * Nothing for other serialisers. */
void aef_xs_codec_split(const aef_xs_codec *c, aef_rpc_reader *r);

/* With recycle on, after a request's values were handled and the
 * temporaries of aef_xs_thaw's caller freed: when the string read straight
 * into its buffer (see aef_xs_codec_split) is referenced by nothing else
 * and shares its buffer with no other string, the buffer goes back to r
 * for the next large request (r keeps one at most, and drops it after a
 * round of small requests), so that its pages need not be faulted in
 * again. (Perl passes copies of a function's arguments back from it, and
 * these share the buffer until they are freed too.) */
void aef_xs_codec_reclaim(pTHX_ aef_xs_codec *c, aef_rpc_reader *r);

/* Where a payload comes from: the built-in string list of args (p NULL),
 * or the octets p/len returned by a Perl freeze function. All fields are
 * read-only for the caller; size is the payload's length in octets. */
typedef struct aef_xs_payload {
  const char *p;
  STRLEN len;
  SV **args;
  I32 n;
  size_t size;
} aef_xs_payload;

/* Decide how to serialise args[0..n-1] and compute the payload size. For
 * the built-in serialiser and plain values only, the C codec is used; else
 * the Perl freeze function is called (list context, first value). 0, or -1 when
 * freeze died or returned something that is not an octet string ($@ set).
 * The args must stay on the stack until the payload is put. */
int aef_xs_freeze(pTHX_ const aef_xs_codec *c, SV **args, I32 n, aef_xs_payload *pl);

/* Append the payload; room for pl->size octets must be reserved. */
void aef_xs_payload_put(pTHX_ const aef_xs_payload *pl, aef_buf *b);

/* Push the values thawed from a payload onto the Perl stack, after a mark
 * the caller pushed (they become the arguments of the caller's next call).
 * p/len is the frame r handed out last: a frame whose string was read into
 * a body of its own (aef_xs_codec_split) becomes that string.
 * The C codec is tried first for the built-in serialiser; a payload it
 * rejects goes to
 * the Perl thaw function, so malformed lists come out as perl's unpack
 * makes them. 0, or -1 when thaw died ($@ set; the stack is back at the
 * caller's mark, which the caller then drops with aef_xs_popmark). */
int aef_xs_thaw(pTHX_ aef_xs_codec *c, const uint8_t *p, size_t len, aef_rpc_reader *r);

/* Drop the caller's mark after aef_xs_thaw failed. */
void aef_xs_popmark(pTHX);

/* Croak: a request, response or event (what) of size octets is too large
 * for the wire's 32-bit length. */
void aef_xs_croak_size(pTHX_ const char *what, size_t size);

#endif
