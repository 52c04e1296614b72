/* libFuzzer harness for the Task JSON-stream splitter. The first input
 * byte picks a chunk size; the rest is the stream. Every boundary the
 * splitter reports, and its final verdict, is checked against a reference
 * model that scans the whole input at once with a different structure: a
 * recursive walk that skips strings as units. */
#include "../aef_task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Skip one string starting after its opening quote; returns the index
 * after the closing quote, or n when it does not end. */
static size_t ref_string (const uint8_t *p, size_t i, size_t n)
{
  while (i < n)
    {
      if (p[i] == '\\')
        i += 2;
      else if (p[i++] == '"')
        return i;
    }
  return n;
}

/* Index after the container opened at p[i-1], or n (unfinished). */
static size_t ref_container (const uint8_t *p, size_t i, size_t n, int depth)
{
  while (i < n)
    {
      uint8_t c = p[i++];

      if (c == '"')
        i = ref_string (p, i, n);
      else if (c == '[' || c == '{')
        {
          if (depth > 200)
            return (size_t)-1; /* too deep for the model: skip this input */
          i = ref_container (p, i, n, depth + 1);
          if (i == (size_t)-1)
            return i;
        }
      else if (c == ']' || c == '}')
        return i;
    }
  return n + 1; /* unfinished */
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  aef_task_split s;
  size_t step, off = 0, i = 0, maxmsg = 256;
  const uint8_t *p;
  size_t n;
  int r = 0, want_err = 0;
  size_t want_starts[512], want_ends[512], nwant = 0, got = 0;

  if (size < 1)
    return 0;
  step = (data[0] % 64) + 1;
  p = data + 1;
  n = size - 1;

  /* reference: message end offsets, and the error expected after them */
  while (i < n && nwant < 512)
    {
      uint8_t c = p[i];
      size_t end;

      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        {
          i++;
          continue;
        }
      if (c != '[')
        {
          want_err = -EPROTO;
          break;
        }
      end = ref_container (p, i + 1, n, 0);
      if (end == (size_t)-1)
        return 0;
      if (end > n)
        {
          if (n - i > maxmsg)
            want_err = -EMSGSIZE;
          break;
        }
      if (end - i > maxmsg)
        {
          want_err = -EMSGSIZE;
          break;
        }
      want_starts[nwant] = i;
      want_ends[nwant++] = end;
      i = end;
    }
  if (nwant == 512)
    return 0;

  aef_task_split_init (&s, maxmsg);
  for (;;)
    {
      const uint8_t *m;
      size_t len;

      while ((r = aef_task_split_next (&s, &m, &len)) == 1)
        {
          /* m points into the splitter's copy: compare the bytes */
          if (got >= nwant || len != want_ends[got] - want_starts[got]
              || memcmp (m, p + want_starts[got], len))
            abort ();
          got++;
        }
      if (r < 0 || off == n)
        break;
      size_t k = n - off < step ? n - off : step;
      if (aef_task_split_feed (&s, p + off, k) < 0)
        abort ();
      off += k;
    }
  aef_task_split_free (&s);

  if (got != nwant)
    abort ();
  if (r != want_err)
    abort ();
  return 0;
}
