/*
 * port.h - what differs between target systems, in one small interface so
 * that a BSD or another libc has one place to change (ports/<system>/).
 */
#ifndef TERN_PORT_H
#define TERN_PORT_H

/* port_resolv_conf - the system's resolver configuration file */
const char *port_resolv_conf(void);
/* port_aliases_file - the system's aliases file (/etc/aliases format) */
const char *port_aliases_file(void);

#endif
