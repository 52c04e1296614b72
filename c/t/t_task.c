/* Unit tests of the Task splitter, worker loop and descriptor helpers. */
#include "tap.h"
#include "util.h"
#include "../aef_task.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Feed input in chunks of step bytes, collect the messages joined by '|'.
 * Returns the splitter's final status (0 or negative). */
static int split_all (const char *in, size_t step, char *out, size_t outsz, size_t max)
{
  aef_task_split s;
  size_t off = 0, o = 0, n = strlen (in);
  int r = 0;

  aef_task_split_init (&s, max);
  out[0] = 0;
  for (;;)
    {
      const uint8_t *m;
      size_t len;

      while ((r = aef_task_split_next (&s, &m, &len)) == 1)
        {
          if (o + len + 2 < outsz)
            {
              memcpy (out + o, m, len);
              o += len;
              out[o++] = '|';
              out[o] = 0;
            }
        }
      if (r < 0 || off == n)
        break;
      size_t k = n - off < step ? n - off : step;
      aef_task_split_feed (&s, in + off, k);
      off += k;
    }
  aef_task_split_free (&s);
  return r;
}

int main (void)
{
  static const char *in =
    "[\"do\",{},\"add\",2,3] [\"do\",{\"a\":[1,{\"b\":\"]\"}]},\"x\\\"]\\\\\"]\n"
    "[\"dn\",{}]";
  static const char *want =
    "[\"do\",{},\"add\",2,3]|[\"do\",{\"a\":[1,{\"b\":\"]\"}]},\"x\\\"]\\\\\"]|[\"dn\",{}]|";
  char out[512];
  size_t step;
  int ok_all = 1;

  for (step = 1; step <= strlen (in) + 1; step++)
    {
      int r = split_all (in, step, out, sizeof out, 0);

      if (r != 0 || strcmp (out, want))
        {
          ok_all = 0;
          printf ("# step %zu: r=%d out=%s\n", step, r, out);
        }
    }
  ok (ok_all, "messages found at the same boundaries for every chunk size");

  is_int (split_all ("[1]{\"a\":1}", 3, out, sizeof out, 0), -EPROTO,
          "an object at the top level is a corrupt stream");
  ok (!strcmp (out, "[1]|"), "the message before it was handed out");
  is_int (split_all ("]", 1, out, sizeof out, 0), -EPROTO, "a stray ] at the top level");
  is_int (split_all ("[\"0123456789abcdef", 4, out, sizeof out, 8), -EMSGSIZE,
          "an unfinished message over the bound");
  is_int (split_all ("[\"0123\"]", 2, out, sizeof out, 8), 0,
          "a message of exactly the bound passes");
  is_int (split_all ("  \n\t ", 1, out, sizeof out, 0), 0, "whitespace only");

  {
    aef_task_split s;
    const uint8_t *m;
    size_t len;
    char big[AEF_TASK_CHUNK + 1];

    aef_task_split_init (&s, 0);
    memset (big, ' ', sizeof big);
    is_int (aef_task_split_feed (&s, big, sizeof big), -EMSGSIZE, "a chunk larger than allowed");
    aef_task_split_feed (&s, "[1,", 3);
    is_int (aef_task_split_next (&s, &m, &len), 0, "incomplete");
    is_int (aef_task_split_pending (&s), 3, "three bytes held");
    aef_task_split_free (&s);
  }

  /* the worker loop over a socket pair */
  {
    int sv[2];
    aef_task_worker w;
    const uint8_t *m;
    size_t len;

    ok (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    ok (aef_task_worker_init (&w, sv[0], 0) == 0, "worker init");
    write (sv[1], "[\"do\",{},1][\"do\"", 16);
    is_int (aef_task_worker_next (&w, &m, &len), 1, "first message");
    ok (len == 11 && !memcmp (m, "[\"do\",{},1]", 11), "its bytes");
    write (sv[1], ",{},2]", 6);
    is_int (aef_task_worker_next (&w, &m, &len), 1, "second message, split across reads");
    ok (len == 11 && !memcmp (m, "[\"do\",{},2]", 11), "its bytes");
    is_int (aef_task_worker_write (&w, "[\"ok\",{},1]", 11), 0, "reply written");
    {
      char buf[32];
      ok (read (sv[1], buf, sizeof buf) == 11, "reply read by the peer");
    }
    close (sv[1]);
    is_int (aef_task_worker_next (&w, &m, &len), -ECONNRESET, "end-of-file");
    is_int (aef_task_worker_write (&w, "x", 1), -EPIPE, "writing to a closed peer: EPIPE, no signal");
    aef_task_worker_free (&w);
    close (sv[0]);
  }

  /* the hung-worker alarm */
  {
    int sv[2], err[2], status;
    pid_t pid;
    char buf[64];
    ssize_t n;

    socketpair (AF_UNIX, SOCK_STREAM, 0, sv);
    pipe (err);
    pid = fork ();
    if (pid == 0)
      {
        aef_task_worker w;
        const uint8_t *m;
        size_t len;

        dup2 (err[1], 2);
        aef_task_worker_init (&w, sv[0], 1);
        if (aef_task_worker_next (&w, &m, &len) == 1)
          for (;;)
            pause (); /* a hung request */
        _exit (0);
      }
    close (err[1]);
    write (sv[1], "[1]", 3);
    n = read (err[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    waitpid (pid, &status, 0);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 1, "hung worker exited with status 1");
    {
      char want2[64];
      snprintf (want2, sizeof want2, "Killing hung worker (%ld)\n", (long)pid);
      ok (!strcmp (buf, want2), "and said so: %s", buf);
    }
    close (sv[0]); close (sv[1]); close (err[0]);
  }

  /* descriptor release */
  {
    int p[2], keep, n0;
    char c;

    pipe (p);
    ok (aef_task_release_fds (&p[1], 1) == 0, "release the write end");
    ok (read (p[0], &c, 1) == 0, "the read end sees end-of-file");
    ok (fcntl (p[1], F_GETFD) >= 0, "the number stays occupied");
    close (p[1]);
    n0 = count_fds ();
    keep = p[0];
    ok (aef_task_release_all_but (&keep, 1) == 0, "release all but one");
    is_int (count_fds (), n0, "no descriptor number freed or added");
    ok (fcntl (p[0], F_GETFL) >= 0 && read (p[0], &c, 1) == 0, "the kept one is still the pipe");
  }

  return done_testing ();
}
