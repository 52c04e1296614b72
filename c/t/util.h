/* Small helpers shared by the C unit tests. */
#ifndef AEF_T_UTIL_H
#define AEF_T_UTIL_H
#include <dirent.h>
#include <fcntl.h>
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
#endif
