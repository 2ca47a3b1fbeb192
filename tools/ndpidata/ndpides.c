/*
 * ndpides: what libndpi's double exponential smoothing (ndpi_des_init,
 * ndpi_des_add_value) answers for a few series and parameter choices, so
 * the Go port (controlplane/des) can be checked against the real library.
 *
 * Output, one line per step (doubles as C99 hex floats, exact):
 *   series<TAB>alpha<TAB>beta<TAB>significance<TAB>step<TAB>value<TAB>rc<TAB>forecast<TAB>band
 * alpha and beta are printed as the doubles ndpi_des_init got, significance
 * as the float it got.
 */
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <ndpi/ndpi_api.h>

#define N 150

struct params { double alpha, beta; float significance; };

/* Some values not representable in a double beyond 2^53, and 2^64-1
   itself: ndpi_des_add_value converts them to double first. */
static const u_int64_t huge[] = {
  UINT64_C(18446744073709551615), UINT64_C(9007199254740993), UINT64_C(1),
  UINT64_C(12345678901234567890), UINT64_C(0), UINT64_C(18446744073709551615),
  UINT64_C(4611686018427387904), UINT64_C(9007199254740993),
};

static u_int64_t lcg(u_int64_t *s) {
  *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return *s >> 33;
}

/* series returns value i of the named series and how many there are. */
static int series(const char *name, int i, u_int64_t *v) {
  if(!strcmp(name, "constant")) { *v = 42; return 70; }
  if(!strcmp(name, "ramp")) { *v = 10 + 7 * (u_int64_t)i; return 70; }
  if(!strcmp(name, "zeros")) { *v = 0; return 40; }
  if(!strcmp(name, "spikes")) { *v = (i % 17 == 16) ? 5000 : 100 + (i % 3); return 100; }
  if(!strcmp(name, "noise")) {
    /* Deterministic noise around 1000; long enough to cross the 64-value
       roll-up of the square error several times. */
    u_int64_t s = 12345, r = 0;
    for(int k = 0; k <= i; k++) r = lcg(&s);
    *v = 1000 + r % 50; return N;
  }
  if(!strcmp(name, "huge")) { *v = huge[i % (sizeof(huge)/sizeof(huge[0]))]; return 80; }
  if(!strcmp(name, "step")) { *v = (i < 40) ? 3 : 300; return 90; }
  return -1;
}

int main(void) {
  const char *names[] = { "constant", "ramp", "zeros", "spikes", "noise", "huge", "step" };
  /* (0.9, 0.5) is ndpiReader's desUnitTest, given as floats there;
     the others cover slow and fast smoothing and other significances,
     including out-of-range ones ndpi_des_init replaces with 0.05. */
  struct params ps[] = {
    { (float)0.9, (float)0.5, 0.05f },
    { 0.9, 0.5, 0.05f },
    { 0.5, 0.1, 0.01f },
    { 0.1, 0.9, 0.2f },
    { 0.3, 0.3, 0.001f },
    { 0.9, 0.5, 2.0f },
    { 0.9, 0.5, -1.0f },
  };

  for(size_t p = 0; p < sizeof(ps)/sizeof(ps[0]); p++) {
    for(size_t s = 0; s < sizeof(names)/sizeof(names[0]); s++) {
      struct ndpi_des_struct des;
      int n = 1;

      if(ndpi_des_init(&des, ps[p].alpha, ps[p].beta, ps[p].significance) != 0) {
        fprintf(stderr, "ndpi_des_init failed\n");
        return 1;
      }
      for(int i = 0; i < n; i++) {
        u_int64_t v = 0;
        double forecast = -1, band = -1;
        int rc;

        n = series(names[s], i, &v);
        rc = ndpi_des_add_value(&des, v, &forecast, &band);
        printf("%s\t%a\t%a\t%a\t%d\t%llu\t%d\t%a\t%a\n", names[s], ps[p].alpha, ps[p].beta,
               (double)ps[p].significance, i, (unsigned long long)v, rc, forecast, band);
      }
    }
  }
  return 0;
}
