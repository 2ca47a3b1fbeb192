/*
 * ndpidump prints nDPI's built-in host name tables as libndpi was built:
 * host_match (name pattern -> protocol, with the pattern's own category,
 * breed and level) and category_match (name pattern or IPv4 network ->
 * category). Both arrays are static in ndpi_main.o, so gen.sh links a copy
 * of libndpi.a whose two symbols objcopy made global.
 *
 * Output, one entry a line, tab-separated:
 *   H  pattern  protocol-id  protocol-name  category-id  breed-name  level
 *   C  pattern  category-id
 * Protocol names are nDPI's own (ndpi_get_proto_name after init), i.e.
 * what ndpiReader prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ndpi_api.h>

extern ndpi_protocol_match host_match[];
extern ndpi_category_match category_match[];

int main(void) {
  struct ndpi_detection_module_struct *ndpi = ndpi_init_detection_module(ndpi_no_prefs);
  NDPI_PROTOCOL_BITMASK all;
  int i;

  if(ndpi == NULL) {
    fprintf(stderr, "ndpidump: ndpi_init_detection_module failed\n");
    return 1;
  }
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(ndpi, &all);
  ndpi_finalize_initialization(ndpi);

  printf("# nDPI %s\n", ndpi_revision());
  for(i = 0; host_match[i].string_to_match != NULL; i++) {
    ndpi_protocol_match *m = &host_match[i];
    if(strpbrk(m->string_to_match, "\t\n") != NULL) {
      fprintf(stderr, "ndpidump: pattern %d has a tab or newline\n", i);
      return 1;
    }
    printf("H\t%s\t%u\t%s\t%u\t%s\t%d\n", m->string_to_match, m->protocol_id,
           ndpi_get_proto_name(ndpi, m->protocol_id), (unsigned)m->protocol_category,
           ndpi_get_proto_breed_name(ndpi, m->protocol_breed), m->level);
  }
  for(i = 0; category_match[i].string_to_match != NULL; i++)
    printf("C\t%s\t%u\n", category_match[i].string_to_match,
           (unsigned)category_match[i].protocol_category);

  ndpi_exit_detection_module(ndpi);
  return 0;
}
