/*
 * serve.h - glue of the template process's command reader (serve.c; the
 * XSUB is in serve.xsh, the command loop in lib/AnyEvent/Fork/Serve.pm).
 */
#ifndef AEF_XS_SERVE_H
#define AEF_XS_SERVE_H

#include "util.h"

/* The next command for the Perl command loop, after reaping finished
 * children. Stores up to two new mortal values in out[] and returns their
 * count:
 *   (letter, payload)  a command;
 *   ("h", fd)          a received descriptor that is not followed by "f"
 *                      (fd -1 with errno set when receiving it failed);
 *   ("!")              an oversized command (a corrupted stream);
 *   ("F")              an "h"+"f" pair whose fork failed (errno is fork's);
 *   ()                 end-of-file (errno 0) or a read error (errno set).
 * An "h"+"f" pair forks (as perl's fork does) and both processes go on
 * reading; in the child the received socket replaces the command socket.
 * have_h: the caller has read an "h" frame itself. Sets $? as perl's
 * "1 while 0 < waitpid -1, 1" leaves it. */
int aef_xs_serve_next(pTHX_ int fd, int have_h, SV **out);

#endif
