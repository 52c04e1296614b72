/* Minimal TAP producer for the C unit tests (one program per file). */
#ifndef AEF_TAP_H
#define AEF_TAP_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n__, tap_fail__;

#define ok(cond, ...) do { \
    int c__ = !!(cond); \
    printf ("%sok %d - ", c__ ? "" : "not ", ++tap_n__); \
    printf (__VA_ARGS__); printf ("\n"); \
    if (!c__) { tap_fail__++; \
      printf ("#   failed at %s line %d: %s\n", __FILE__, __LINE__, #cond); } \
    fflush (stdout); /* nothing pending to be duplicated by fork or lost in a crash */ \
  } while (0)

#define is_int(got, want, ...) do { \
    long long g__ = (long long)(got), w__ = (long long)(want); \
    ok (g__ == w__, __VA_ARGS__); \
    if (g__ != w__) printf ("#   got %lld, expected %lld\n", g__, w__); \
  } while (0)

#define is_mem(got, want, n, ...) ok (memcmp ((got), (want), (n)) == 0, __VA_ARGS__)

static inline int done_testing (void)
{
  printf ("1..%d\n", tap_n__);
  return tap_fail__ ? 1 : 0;
}
#endif
