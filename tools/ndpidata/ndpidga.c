/*
 * ndpidga asks libndpi about its DGA heuristic (ndpi_check_dga_name).
 *
 *   ndpidga tables   prints the bigram, impossible-bigram and trigram sets
 *                    of a-z the way ndpi_check_dga_name looks them up
 *                    (ndpi_match_bigram, ndpi_match_impossible_bigram,
 *                    ndpi_match_trigram, after the module initialised them),
 *                    one "B ab", "I bk" or "T the" a line, in a-z order.
 *   ndpidga names    reads one name a line on stdin (empty lines and lines
 *                    starting with '#' are skipped) and prints
 *                    "name<TAB>0|1": the verdict with is_hostname=1 and no
 *                    flow, on a module with every protocol enabled (so the
 *                    host-name automaton's exemption applies).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ndpi_api.h>

/* Exported by libndpi 4.2 but not declared in its headers. */
extern int ndpi_match_impossible_bigram(const char *str);
extern int ndpi_match_trigram(const char *str);

int main(int argc, char **argv) {
  struct ndpi_detection_module_struct *ndpi;
  NDPI_PROTOCOL_BITMASK all;

  if(argc != 2 || (strcmp(argv[1], "tables") != 0 && strcmp(argv[1], "names") != 0)) {
    fprintf(stderr, "usage: ndpidga tables|names\n");
    return 2;
  }
  ndpi = ndpi_init_detection_module(ndpi_no_prefs);
  if(ndpi == NULL) {
    fprintf(stderr, "ndpidga: ndpi_init_detection_module failed\n");
    return 1;
  }
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(ndpi, &all);
  ndpi_finalize_initialization(ndpi);

  if(strcmp(argv[1], "tables") == 0) {
    char s[4] = {0};
    for(char a = 'a'; a <= 'z'; a++)
      for(char b = 'a'; b <= 'z'; b++) {
        s[0] = a, s[1] = b, s[2] = 0;
        if(ndpi_match_bigram(s)) printf("B %s\n", s);
        if(ndpi_match_impossible_bigram(s)) printf("I %s\n", s);
        for(char c = 'a'; c <= 'z'; c++) {
          s[2] = c;
          if(ndpi_match_trigram(s)) printf("T %s\n", s);
        }
      }
  } else {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while((n = getline(&line, &cap, stdin)) != -1) {
      if(n > 0 && line[n-1] == '\n')
        line[--n] = '\0';
      if(n == 0 || line[0] == '#')
        continue;
      if(memchr(line, '\t', n) != NULL) {
        fprintf(stderr, "ndpidga: a name holds a tab: %s\n", line);
        return 1;
      }
      printf("%s\t%d\n", line, ndpi_check_dga_name(ndpi, NULL, line, 1) ? 1 : 0);
    }
    free(line);
  }
  ndpi_exit_detection_module(ndpi);
  return 0;
}
