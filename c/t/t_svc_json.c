/* Unit tests of c/aef_svc_json.c: the simple-JSON tokenizer of the bus
 * messages and its string unescaper. */
#include "tap.h"
#include "../aef_svc_json.h"

#include <errno.h>
#include <string.h>

static aef_svc_jtok toks__[64];

static long parse__(const char *s)
{
  return aef_svc_json_parse(s, strlen(s), toks__, 64);
}

int main(void)
{
  static const char *const refused[] = {
    "", " ", "nul", "nulll", "tru", "True", "01", "-0", "-0.5", "1.", ".5", "1e5", "1E5", "1.5e3",
    "+1", "-", "1234567890123456789", "\"abc", "\"a\\x\"", "\"a\\u12g4\"", "\"\\ud800\"",
    "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\xc3\xa9\"", "\"a\tb\"", "[1,]", "[,1]", "{\"a\"}",
    "{\"a\":}", "{a:1}", "{\"a\":1,}", "[1 2]", "[1] x", "{} {}", "[", "]", "{\"a\":1",
    "123456789012345678901234567890123456789.5", "'a'", "NaN", "Infinity",
  };
  char deep[80], out[64];
  const char *msg = "{\"from\":\"a\",\"to\":\"b\",\"content\":{\"ipcm_request_id\":\"x\",\"request\":\"ping\"},"
                    "\"stamp\":1733527200.123456,\"stamp_ord\":0,\"id\":\"u\"}";
  size_t i;
  long n;
  int wide;

  /* scalars */
  is_int(parse__("null"), 1, "null: one token");
  is_int(toks__[0].kind, AEF_SVC_JNULL, "null: kind");
  is_int(parse__(" true "), 1, "true with whitespace");
  is_int(toks__[0].kind, AEF_SVC_JTRUE, "true: kind");
  is_int(parse__("false"), 1, "false");
  is_int(toks__[0].kind, AEF_SVC_JFALSE, "false: kind");
  is_int(parse__("-123456789012345678"), 1, "18 digits");
  ok(toks__[0].kind == AEF_SVC_JINT && toks__[0].v.i == -123456789012345678LL, "an integer's value");
  is_int(parse__("0"), 1, "zero");
  ok(toks__[0].kind == AEF_SVC_JINT && toks__[0].v.i == 0, "zero's value");
  is_int(parse__("1733527200.123456"), 1, "a fraction");
  ok(toks__[0].kind == AEF_SVC_JFLOAT && toks__[0].v.d == 1733527200.123456, "a fraction's value");
  ok(toks__[0].off == 0 && toks__[0].len == 17, "a number's text");
  is_int(parse__("1234567890123456789012.5"), 1, "a fraction with 22 digits before the point");
  ok(toks__[0].kind == AEF_SVC_JFLOAT && toks__[0].v.d == 1234567890123456789012.5, "its value");
  is_int(parse__("\"ab\\\"c\""), 1, "a string");
  ok(toks__[0].kind == AEF_SVC_JSTR && toks__[0].esc && toks__[0].off == 1 && toks__[0].len == 5,
     "a string's bytes and escape flag");
  is_int(parse__("\"plain\""), 1, "a plain string");
  ok(!toks__[0].esc, "no escape flag without escapes");

  /* containers, in document order */
  is_int(parse__("{\"a\":[1,{}],\"b\":null}"), 7, "tokens of a nested object");
  ok(toks__[0].kind == AEF_SVC_JOBJ && toks__[0].len == 2, "object: two members");
  ok(toks__[1].kind == AEF_SVC_JSTR && toks__[2].kind == AEF_SVC_JARR && toks__[2].len == 2, "key, array of two");
  ok(toks__[3].kind == AEF_SVC_JINT && toks__[4].kind == AEF_SVC_JOBJ && toks__[4].len == 0, "its elements");
  ok(toks__[5].kind == AEF_SVC_JSTR && toks__[6].kind == AEF_SVC_JNULL, "the second member");
  is_int(parse__(" [ ] "), 1, "empty array");
  is_int(parse__(msg), 17, "a request message");

  /* refusals */
  for (i = 0; i < sizeof refused / sizeof refused[0]; i++)
    is_int(parse__(refused[i]), -EINVAL, "refused: '%s'", refused[i]);
  is_int(aef_svc_json_parse("[1]\0", 4, toks__, 64), -EINVAL, "refused: a NUL after the text");
  is_int(aef_svc_json_parse("[1,2,3]", 7, toks__, 3), -ENOSPC, "more tokens than room");
  is_int(aef_svc_json_parse("[1,2,3]", 7, toks__, 4), 4, "exactly enough room");
  is_int(aef_svc_json_parse("\"abc\"", 3, toks__, 4), -EINVAL, "reads only len bytes");

  /* depth */
  memset(deep, '[', AEF_SVC_JSON_DEPTH);
  memset(deep + AEF_SVC_JSON_DEPTH, ']', AEF_SVC_JSON_DEPTH);
  is_int(aef_svc_json_parse(deep, 2 * AEF_SVC_JSON_DEPTH, toks__, 64), AEF_SVC_JSON_DEPTH, "deepest nesting");
  memset(deep, '[', AEF_SVC_JSON_DEPTH + 1);
  memset(deep + AEF_SVC_JSON_DEPTH + 1, ']', AEF_SVC_JSON_DEPTH + 1);
  is_int(aef_svc_json_parse(deep, 2 * AEF_SVC_JSON_DEPTH + 2, toks__, 64), -EINVAL, "one level deeper");

  /* unescaping */
  n = aef_svc_json_unescape(out, "a\\\"\\\\\\/\\b\\f\\n\\r\\tz", 18, &wide);
  ok(n == 10 && !memcmp(out, "a\"\\/\b\f\n\r\tz", 10) && !wide, "short escapes");
  n = aef_svc_json_unescape(out, "\\u0041\\u00e9\\u20ac\\ud83d\\ude00", 30, &wide);
  ok(n == 10 && !memcmp(out, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10) && wide, "\\u escapes as UTF-8");
  n = aef_svc_json_unescape(out, "\\u0000", 6, &wide);
  ok(n == 1 && out[0] == 0 && !wide, "\\u0000");
  is_int(aef_svc_json_unescape(out, "\\ud800", 6, &wide), -EINVAL, "lone high surrogate");
  is_int(aef_svc_json_unescape(out, "ab\\", 3, &wide), -EINVAL, "escape cut short");
  is_int(aef_svc_json_unescape(out, "\\q", 2, &wide), -EINVAL, "unknown escape");
  return done_testing();
}
