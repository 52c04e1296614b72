/*
 * Task glue (C part): the objects over the splitter and the worker loop.
 * See xs/task.h for the contracts.
 */
#include "util.h"
#include "task.h"

#include <unistd.h>

static MGVTBL aef_xs_task_split_vtbl__, aef_xs_task_loop_vtbl__;

/* the magic's free hook, for both kinds of object */
static int
aef_xs_task_free__ (pTHX_ SV *sv, MAGIC *mg)
{
  void *p = mg->mg_ptr;

  mg->mg_ptr = NULL;
  if (!p)
    return 0;
  if (mg->mg_virtual == &aef_xs_task_split_vtbl__)
    aef_task_split_free ((aef_task_split *)p);
  else
    aef_task_worker_free ((aef_task_worker *)p);
  Safefree (p);
  return 0;
}

static MGVTBL aef_xs_task_split_vtbl__ = { 0, 0, 0, 0, aef_xs_task_free__, 0, 0, 0 };
static MGVTBL aef_xs_task_loop_vtbl__ = { 0, 0, 0, 0, aef_xs_task_free__, 0, 0, 0 };

SV *
aef_xs_task_split_new (pTHX_ SV *klass, UV max)
{
  HV *stash = gv_stashsv (klass, GV_ADD);
  aef_task_split *s;

  if (max > AEF_TASK_MSG_MAX)
    croak ("AnyEvent::Task::Split: bound larger than %u", (unsigned)AEF_TASK_MSG_MAX);
  Newxz (s, 1, aef_task_split);
  aef_task_split_init (s, (size_t)max);
  return aef_xs_obj_new (aTHX_ stash, &aef_xs_task_split_vtbl__, s);
}

SV *
aef_xs_task_loop_new (pTHX_ SV *klass, int fd, unsigned alarm_secs)
{
  HV *stash = gv_stashsv (klass, GV_ADD);
  aef_task_worker *w;
  int rc;

  Newxz (w, 1, aef_task_worker);
  rc = aef_task_worker_init (w, fd, alarm_secs);
  if (rc < 0)
    {
      Safefree (w);
      errno = -rc;
      return &PL_sv_undef;
    }
  return aef_xs_obj_new (aTHX_ stash, &aef_xs_task_loop_vtbl__, w);
}

/* the struct behind an object of the kind vtbl; croaks naming the class */
static void *
aef_xs_task_ptr__ (pTHX_ SV *sv, const MGVTBL *vtbl, const char *klass)
{
  void *p = aef_xs_obj_ptr (aTHX_ sv, vtbl);

  if (!p)
    croak ("%s: not an object of this class", klass);
  return p;
}

aef_task_split *
aef_xs_task_split_get (pTHX_ SV *sv)
{
  return (aef_task_split *)aef_xs_task_ptr__ (aTHX_ sv, &aef_xs_task_split_vtbl__,
                                              "AnyEvent::Task::Split");
}

aef_task_worker *
aef_xs_task_loop_get (pTHX_ SV *sv)
{
  return (aef_task_worker *)aef_xs_task_ptr__ (aTHX_ sv, &aef_xs_task_loop_vtbl__,
                                               "AnyEvent::Task::Server::Worker::Loop");
}

SV *
aef_xs_task_split_take (pTHX_ aef_task_split *s)
{
  const uint8_t *m;
  size_t len;
  int r = aef_task_split_next (s, &m, &len);

  if (r == 0)
    return &PL_sv_undef;
  if (r < 0)
    return sv_2mortal (newSVpvn ("", 0));
  return sv_2mortal (newSVpvn ((const char *)m, len));
}

long
aef_xs_task_split_fill (pTHX_ aef_task_split *s, int fd)
{
  char chunk[AEF_TASK_CHUNK];
  ssize_t got;
  int rc;

  do
    got = read (fd, chunk, sizeof chunk);
  while (got < 0 && errno == EINTR);

  if (got < 0)
    return -errno;
  if (got > 0 && (rc = aef_task_split_feed (s, chunk, (size_t)got)) < 0)
    return rc;
  return (long)got;
}

/* fork as perl's fork does, for the forker's loop (perl's handles are
 * flushed once, before the loop: the forker writes through none) */
static pid_t
aef_xs_task_fork__ (void *arg)
{
  dTHXa ((PerlInterpreter *)arg);
  PERL_UNUSED_ARG (arg);

  return aef_xs_fork (aTHX_ 0);
}

int
aef_xs_task_forker_next (pTHX_ int hand, int *fd, UV *n)
{
  uint64_t num;
  int rc;

  PERL_FLUSHALL_FOR_CHILD;
  rc = aef_task_forker_next (hand, aef_xs_task_fork__, (void *)aTHX, fd, &num);
  if (rc == 0)
    *n = (UV)num;
  return rc;
}
