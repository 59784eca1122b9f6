/*
 * port_linux.c - Linux (glibc or musl) specifics for port.h.
 */
#include "ports/port.h"

const char *port_resolv_conf(void)
{
	return "/etc/resolv.conf";
}

const char *port_aliases_file(void)
{
	return "/etc/aliases";
}
