/* Shared by the libFuzzer harnesses (c/fuzz/fuzz_*.c): a result that
 * disagrees with the harness's reference model aborts, which libFuzzer
 * reports as a crash and keeps as a reproducer. */
#ifndef AEF_FUZZ_H
#define AEF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) do { \
    if (!(cond)) { \
      fprintf (stderr, "%s:%d: model disagrees: %s\n", __FILE__, __LINE__, #cond); \
      abort (); \
    } \
  } while (0)

/* A descriptor from which reads return data[0, size) and then end-of-file
 * (an anonymous memory file, positioned at its start); the caller closes
 * it. Aborts when one cannot be made. */
int fuzz_input_fd (const uint8_t *data, size_t size);

/* An empty anonymous memory file to write to; fuzz_output reads what was
 * written back into *out (malloc'd, *n octets; the caller frees it). */
int fuzz_output_fd (void);
void fuzz_output (int fd, uint8_t **out, size_t *n);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#endif
