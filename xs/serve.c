/* serve.c - glue of the template's command reader (see serve.h). The
 * reader's state is this process's: one command stream per template. */
#include "util.h"
#include "serve.h"
#include "fastexit.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* perl 5.8 sets $? with the older name */
#ifndef STATUS_NATIVE_CHILD_SET
# define STATUS_NATIVE_CHILD_SET(n) STATUS_NATIVE_SET (n)
#endif

/* one payload buffer for the life of the process */
static aef_buf serve_buf__ = AEF_BUF_INIT (AEF_SERVE_MAX);

/* the one-command lookahead (after an "h" that is not followed by an "f"):
 * 0 none, 1 a command in serve_buf__, 2 end-of-file/error */
static int pending__;
static char pending_letter__;
static int pending_errno__;

/* fork for an "h"+"f" pair, as perl's fork does (flush all handles, block
 * signals around fork, clear pending signals in the child). In the child
 * the received socket takes the place of the command socket (same
 * descriptor number, so no Perl handle changes) and $0 is set. Returns
 * fork's result; -1 with errno also in a child that could not take over
 * the new socket (it then holds no socket at all). */
static pid_t
serve_fork__ (pTHX_ int master, int fd)
{
  /* the globs of $AnyEvent::Fork::Serve::OWNER and $0, looked up once: a
   * lookup by name writes to the globs on the way (each such page a
   * copy-on-write fault in every child) */
  static GV *owner_gv, *name_gv;
  pid_t pid;

  if (!owner_gv)
    {
      owner_gv = (GV *)SvREFCNT_inc (gv_fetchpv ("AnyEvent::Fork::Serve::OWNER", GV_ADD, SVt_PV));
      name_gv = (GV *)SvREFCNT_inc (gv_fetchpv ("0", GV_ADD, SVt_PV));
      /* what the children's exit looks at, looked at once here first: the
       * method resolution order of the classes of the template's objects
       * is computed here, not in every child */
      (void)aef_xs_fastexit_early_ok (aTHX);
      /* ->run ("CORE::exit") is common: perl builds its stub for that
       * function on first use; here, once, instead of in every child */
      (void)gv_fetchpvs ("CORE::exit", GV_ADD, SVt_PVCV);
    }

  pid = aef_xs_fork (aTHX_ 1);

  if (pid == 0)
    {
      SV *owner = GvSVn (owner_gv);
      SV *name = GvSVn (name_gv);

      int rc = aef_dup_cloexec (fd, master);

      if (rc < 0)
        {
          /* never leave this child on the template's socket: its exit
           * would half-close the template's command stream */
          close (master);
          close (fd);
          errno = -rc;
          return -1;
        }

      close (fd);
      aef_xs_fastexit_arm (aTHX);
      sv_setpvf (name, "%" SVf " AnyEvent::Fork", SVfARG (owner));
      SvSETMAGIC (name);
    }
  else
    close (fd);

  return pid;
}

int
aef_xs_serve_next (pTHX_ int fd, int have_h, SV **out)
{
  char letter;
  int rc, status, n = 0;

  if (have_h)
    {
      pending__ = 1;
      pending_letter__ = 'h';
    }

  for (;;)
    {
      while (waitpid (-1, &status, WNOHANG) > 0)
        ;

      if (pending__ == 1)
        {
          letter = pending_letter__;
          rc = 1;
        }
      else if (pending__ == 2)
        rc = -pending_errno__;
      else
        rc = aef_serve_read (fd, &letter, &serve_buf__);
      pending__ = 0;

      if (rc == -EMSGSIZE)
        {
          out[n++] = newSVpvs_flags ("!", SVs_TEMP);
          break;
        }

      if (rc <= 0)
        {
          errno = rc ? -rc : 0;
          break;
        }

      if (letter == 'h')
        {
          int got, next = aef_fd_recv (fd, &got);
          char nletter;

          if (next < 0)
            {
              errno = -next;
              out[n++] = newSVpvs_flags ("h", SVs_TEMP);
              out[n++] = sv_2mortal (newSViv (-1));
              break;
            }

          next = aef_serve_read (fd, &nletter, &serve_buf__);
          if (next > 0 && nletter == 'f' && aef_buf_size (&serve_buf__) == 0)
            {
              pid_t pid = serve_fork__ (aTHX_ fd, got);

              if (pid < 0)
                {
                  out[n++] = newSVpvs_flags ("F", SVs_TEMP); /* errno is fork's */
                  break;
                }
              continue; /* both processes go on reading */
            }

          /* not a fork: hand the descriptor over, keep the next command */
          pending__ = next > 0 ? 1 : 2;
          pending_letter__ = nletter;
          pending_errno__ = next < 0 ? -next : 0;
          out[n++] = newSVpvs_flags ("h", SVs_TEMP);
          out[n++] = sv_2mortal (newSViv (got));
          errno = 0; /* as perl's reader leaves it: $! is seen by user code */
          break;
        }

      out[n++] = newSVpvn_flags (&letter, 1, SVs_TEMP);
      out[n++] = newSVpvn_flags ((char *)aef_buf_ptr (&serve_buf__),
                                 aef_buf_size (&serve_buf__), SVs_TEMP);
      aef_buf_consume (&serve_buf__, aef_buf_size (&serve_buf__));
      errno = 0; /* reaping ended in ECHILD; $! is seen by user code */
      break;
    }

  /* what perl's "1 while 0 < waitpid -1, 1" leaves in $? */
  STATUS_NATIVE_CHILD_SET (-1);
  return n;
}
