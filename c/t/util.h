/* Small helpers shared by the C unit tests. */
#ifndef AEF_T_UTIL_H
#define AEF_T_UTIL_H
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* Number of open descriptors of this process. */
static inline int count_fds (void)
{
  DIR *d = opendir ("/proc/self/fd");
  int n = 0;

  if (!d)
    return -1;
  while (readdir (d))
    n++;
  closedir (d);
  return n;
}

static inline int is_cloexec (int fd)
{
  return (fcntl (fd, F_GETFD) & FD_CLOEXEC) != 0;
}

/* Do a and b refer to the same open file? */
static inline int same_file (int a, int b)
{
  struct stat sa, sb;

  return fstat (a, &sa) == 0 && fstat (b, &sb) == 0
         && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Waits (at most about 10 s) until process pid catches signal sig, read
 * from the SigCgt mask of /proc/PID/status: 1 once it does, 0 if it never
 * did or the mask cannot be read (then the caller goes on regardless). A
 * signal sent after that cannot meet the previous disposition. */
static inline int wait_caught (pid_t pid, int sig)
{
  char path[64], line[256];
  int i;

  snprintf (path, sizeof path, "/proc/%ld/status", (long)pid);
  for (i = 0; i < 10000; i++) {
    FILE *f = fopen (path, "r");
    unsigned long long mask = 0;
    int found = 0;

    if (!f)
      return 0;
    while (fgets (line, sizeof line, f))
      if (!strncmp (line, "SigCgt:", 7)) {
        mask = strtoull (line + 7, NULL, 16);
        found = 1;
      }
    fclose (f);
    if (!found)
      return 0;
    if (mask & (1ULL << (sig - 1)))
      return 1;
    usleep (1000);
  }
  return 0;
}
#endif
