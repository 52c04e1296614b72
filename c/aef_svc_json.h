/*
 * A decoder for the simple JSON texts of the services' bus messages: a
 * tokenizer that checks a whole text and lays it out as a flat list of
 * tokens, in document order, into a buffer the caller gives. Perl-free.
 *
 * "Simple" is deliberately narrow: anything the decoder is not sure to
 * read exactly as a full JSON decoder would is refused with -EINVAL, and
 * the caller then hands the text to its full decoder (which also produces
 * the error message for text that is not JSON at all). Accepted:
 *   - null, true, false;
 *   - integers of at most 18 digits, no sign on zero ("-0" is refused);
 *   - decimal fractions, -?(0|[1-9][0-9]*)\.[0-9]+, at most 40 characters,
 *     whose strtod(3) value is finite (no exponent, no "-0.x");
 *   - strings of printable ASCII with the escapes \" \\ \/ \b \f \n \r \t
 *     and \uXXXX (surrogates only as a proper high-low pair, no
 *     non-characters: U+FDD0..U+FDEF, U+xFFFE, U+xFFFF);
 *   - objects and arrays of those, nested at most AEF_SVC_JSON_DEPTH deep;
 *   - JSON whitespace between tokens, and nothing after the text.
 * Refused, among others: raw bytes 0x80 and above or below 0x20 inside
 * strings, exponents, other escapes, lone surrogates, trailing bytes,
 * empty input, deeper nesting, more tokens than the caller's buffer.
 */
#ifndef AEF_SVC_JSON_H
#define AEF_SVC_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of objects and arrays accepted. */
#define AEF_SVC_JSON_DEPTH 32

/* Longest input accepted (bytes): offsets fit in 32 bits. */
#define AEF_SVC_JSON_MAX 0x7fffffffu

enum {
  AEF_SVC_JNULL = 1,
  AEF_SVC_JTRUE,
  AEF_SVC_JFALSE,
  AEF_SVC_JINT,     /* v.i holds the value */
  AEF_SVC_JFLOAT,   /* v.d holds the value (strtod of the text) */
  AEF_SVC_JSTR,     /* off, len: the bytes between the quotes; esc: has escapes */
  AEF_SVC_JOBJ,     /* len: members; followed by key (a JSTR), value, key, value ... */
  AEF_SVC_JARR      /* len: elements; followed by them */
};

/* One token. All fields public and read-only for the caller; a container's
 * members follow it directly (each member's own tokens before the next
 * member's). */
typedef struct aef_svc_jtok {
  uint8_t kind;     /* AEF_SVC_J* */
  uint8_t esc;      /* JSTR: contains backslash escapes (see aef_svc_json_unescape) */
  uint32_t off;     /* JSTR, JINT, JFLOAT: offset of the text in the input */
  uint32_t len;     /* JSTR: length of the quoted bytes; JOBJ, JARR: member count;
                     * JINT, JFLOAT: length of the number's text */
  union {
    int64_t i;
    double d;
  } v;
} aef_svc_jtok;

/* Checks the len bytes at s (not NUL-terminated) and writes their tokens
 * to toks (cap entries, owned by the caller). Returns the number of tokens
 * (at least 1), -EINVAL when the text is not simple JSON as above (toks
 * then holds garbage), or -ENOSPC when it needs more than cap tokens.
 * Reads only s[0..len); uses at most AEF_SVC_JSON_DEPTH levels of
 * recursion. */
long aef_svc_json_parse(const char *s, size_t len, aef_svc_jtok *toks, size_t cap);

/* Writes the characters of a JSON string's quoted bytes (s, len, as a JSTR
 * token gives them, escapes included) to dst as UTF-8; dst has room for
 * len bytes (the result is never longer). Returns the length written and
 * sets *wide when a character is above 0x7f (the text is then not plain
 * ASCII), or -EINVAL on an escape aef_svc_json_parse would refuse. */
long aef_svc_json_unescape(char *dst, const char *s, size_t len, int *wide);

#endif
