/*
 * ndpitor prints the Tor addresses of libndpi 4.2's host_protocol_list
 * (ndpi_content_match.c.inc), one "a.b.c.d/cidr" a line in the list's
 * order. host_protocol_list is a static array in ndpi_main.o: gen.sh links
 * a copy of libndpi.a in which objcopy made it global.
 */
#include <stdio.h>
#include <ndpi_api.h>

extern ndpi_network host_protocol_list[];

int main(void) {
  for(int i = 0; host_protocol_list[i].network != 0; i++) {
    ndpi_network *n = &host_protocol_list[i];
    u_int32_t a = n->network;
    if(n->value != NDPI_PROTOCOL_TOR)
      continue;
    printf("%u.%u.%u.%u/%u\n", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, n->cidr);
  }
  return 0;
}
