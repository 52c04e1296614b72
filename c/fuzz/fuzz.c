/* fuzz.c - helpers linked into every harness (see fuzz.h). */
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

int fuzz_output_fd (void)
{
  int fd = memfd_create ("aef-fuzz", MFD_CLOEXEC);

  FUZZ_CHECK (fd >= 0);
  return fd;
}

int fuzz_input_fd (const uint8_t *data, size_t size)
{
  int fd = fuzz_output_fd ();
  size_t off = 0;

  while (off < size) {
    ssize_t n = write (fd, data + off, size - off);

    FUZZ_CHECK (n > 0);
    off += (size_t)n;
  }
  FUZZ_CHECK (lseek (fd, 0, SEEK_SET) == 0);
  return fd;
}

void fuzz_output (int fd, uint8_t **out, size_t *n)
{
  off_t end = lseek (fd, 0, SEEK_END);
  size_t got = 0;

  FUZZ_CHECK (end >= 0);
  *n = (size_t)end;
  *out = malloc (*n + 1);
  FUZZ_CHECK (*out != NULL);
  while (got < *n) {
    ssize_t r = pread (fd, *out + got, *n - got, (off_t)got);

    FUZZ_CHECK (r > 0);
    got += (size_t)r;
  }
}
