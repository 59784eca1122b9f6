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

/* port_peer_uid - the user id of the process at the other end of a
 * connected Unix socket, or -1 when the system cannot tell */
long port_peer_uid(int fd);
/* port_user_name - login name of uid into buf ("uid N" when unknown) */
void port_user_name(long uid, char *buf, unsigned len);
/* port_socket_claim - make path free for a listening Unix socket: 0 when
 * nothing is there or a stale socket was removed, -EADDRINUSE when a
 * live server answers on it, -ENOTSOCK when it is not a socket */
int port_socket_claim(const char *path);

/* port_user_lookup - uid and gid of a login name; 0, or -ENOENT */
int port_user_lookup(const char *name, long *uid, long *gid);
/* port_chown_tree - give path and everything below it (not following
 * symbolic links) to uid:gid; 0 or -errno with err set */
int port_chown_tree(const char *path, long uid, long gid, char *err,
    unsigned errlen);
/* port_become - drop every privilege for good: supplementary groups,
 * gid, uid (real, effective, saved); 0, or -errno (then nothing must go
 * on: the caller stops) */
int port_become(long uid, long gid);

/* port_fd_limit_raise - raise the soft limit of open files to the hard
 * one; returns the soft limit now in force (-1: unlimited or unknown) */
long port_fd_limit_raise(void);
/* port_fd_limit - the soft limit of open files (-1: unlimited or unknown) */
long port_fd_limit(void);
/* port_fds_open - how many file descriptors the process has open, or -1
 * when the system cannot tell */
long port_fds_open(void);

/* port_heap_release - give the free memory at the top of the heap and in
 * freed pages back to the system (after a burst of sessions; glibc keeps
 * it otherwise); nothing where the allocator has no such call */
void port_heap_release(void);

#endif
