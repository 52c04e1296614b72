/*
 * pool_sleep.c - how long a 1 ms sleep really takes on this machine, with
 * the call perl's select (undef, undef, undef, 0.001) makes: select(2)
 * with no descriptors and a 1000 us timeout. Averaged over N sleeps.
 *
 * usage: pool_sleep [N]
 * prints: sleep=AVERAGE_SECONDS_PER_SLEEP
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <time.h>

int main (int argc, char **argv)
{
  long n = argc > 1 ? atol (argv[1]) : 500, i;
  struct timespec t0, t1;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (i = 0; i < n; i++) {
    struct timeval tv = { 0, 1000 };

    select (0, NULL, NULL, NULL, &tv);
  }
  clock_gettime (CLOCK_MONOTONIC, &t1);

  printf ("sleep=%.9f\n", ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9) / n);
  return 0;
}
