/*
 * send_socket.h - submit a message to the running daemon over its Unix
 * socket (local_socket), as an SMTP client; used by sendmail when the
 * calling user may not write the private spool.
 *
 * Calls return 0, a negative errno (connection problems), or the SMTP
 * reply code that refused the step (4xx, 5xx), with the reply text in
 * err. send_sock_open returns an object freed with send_sock_close.
 */
#ifndef TERN_SEND_SOCKET_H
#define TERN_SEND_SOCKET_H

#include <stddef.h>

struct send_sock;

int send_sock_open(const char *path, struct send_sock **out, char *err,
    size_t errlen);
/* send_sock_envelope - MAIL, RCPT for each, DATA (354 gives 0) */
int send_sock_envelope(struct send_sock *k, const char *sender,
    char *const *rcpts, size_t n, char *err, size_t errlen);
/* send_sock_write - message text (CRLF lines), dot-stuffed on the way */
int send_sock_write(struct send_sock *k, const char *p, size_t n);
/* send_sock_finish - end the data; 0 when the daemon answered 250 */
int send_sock_finish(struct send_sock *k, char *err, size_t errlen);
void send_sock_close(struct send_sock *k);

#endif
