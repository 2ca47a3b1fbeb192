/*
 * ndpimatch asks libndpi how it classifies host names: one name a line on
 * stdin (empty lines and lines starting with '#' are skipped), one answer a
 * line on stdout, tab-separated:
 *
 *   name  host-protocol  result  category-id
 *
 * host-protocol is what the host-name automaton alone says
 * (ndpi_match_string_subprotocol); result and category-id are what
 * ndpi_match_host_subprotocol says on a fresh flow whose master is TLS, as
 * nDPI's TLS, HTTP, DNS and QUIC dissectors ask it: the application, or
 * the master ("TLS") when nDPI's category list overrode the host match.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ndpi_api.h>

int main(void) {
  struct ndpi_detection_module_struct *ndpi = ndpi_init_detection_module(ndpi_no_prefs);
  NDPI_PROTOCOL_BITMASK all;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;

  if(ndpi == NULL) {
    fprintf(stderr, "ndpimatch: ndpi_init_detection_module failed\n");
    return 1;
  }
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(ndpi, &all);
  ndpi_finalize_initialization(ndpi);

  while((n = getline(&line, &cap, stdin)) != -1) {
    ndpi_protocol_match_result m;
    struct ndpi_flow_struct *flow;
    u_int16_t rc;
    int host;

    if(n > 0 && line[n-1] == '\n')
      line[--n] = '\0';
    if(n == 0 || line[0] == '#')
      continue;
    if(memchr(line, '\t', n) != NULL) {
      fprintf(stderr, "ndpimatch: a name holds a tab: %s\n", line);
      return 1;
    }

    memset(&m, 0, sizeof(m));
    host = ndpi_match_string_subprotocol(ndpi, line, (u_int)n, &m);
    if(host < 0)
      host = NDPI_PROTOCOL_UNKNOWN;

    flow = calloc(1, SIZEOF_FLOW_STRUCT);
    if(flow == NULL)
      return 1;
    memset(&m, 0, sizeof(m));
    rc = ndpi_match_host_subprotocol(ndpi, flow, line, (u_int)n, &m, NDPI_PROTOCOL_TLS);
    printf("%s\t%s\t%s\t%u\n", line, ndpi_get_proto_name(ndpi, (u_int16_t)host),
           ndpi_get_proto_name(ndpi, rc), (unsigned)m.protocol_category);
    ndpi_free_flow(flow);
  }
  free(line);
  ndpi_exit_detection_module(ndpi);
  return 0;
}
