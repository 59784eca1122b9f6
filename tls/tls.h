/*
 * tls.h - TLS for tern on mbedTLS: the process's random generator, TLS
 * configurations (client, server) and sessions driven over memory
 * buffers, so that the libuv glue (deliver.c, smtp_server.c, the probe)
 * moves ciphertext and mbedTLS never touches a socket.
 *
 * A session: feed it what the network gave (tls_session_feed), run the
 * handshake until it says done, then read and write plaintext; after
 * every call, send what tls_session_pending() says is waiting
 * (tls_session_drain). Nothing blocks.
 *
 * Ownership: tls_conf_* and tls_session_* objects are freed by their
 * _free; a session borrows its conf, which must outlive it. Peer
 * certificates returned by tls_session_peer_chain are borrowed from
 * the session.
 *
 * When CONFIG_TLS is off these are inline stubs, so callers need no #ifdef.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stddef.h>

#include "core/kconfig.h"
#include "tls/dane.h"

struct tls_conf;
struct tls_session;

/* what tls_session_handshake / _read return besides 0 and errors */
#define TLS_DONE 1		/* handshake finished */
#define TLS_EOF 2		/* the peer closed the TLS session */
#define TLS_CHAIN_MAX 10	/* peer certificates looked at */

struct tls_conf_opts {
	int server;
	/* server: the certificate (PEM, the chain may follow) and its key */
	const char *cert_file, *key_file;
	/* client: CA bundle for PKIX (NULL: no CA, nothing verifies) and an
	 * optional CRL file */
	const char *ca_file, *crl_file;
};

#ifdef CONFIG_TLS
/* tls_library_version - "2.28.3" (static storage) */
const char *tls_library_version(void);
/* tls_rng_init - seed the process's DRBG once from the system entropy;
 * 0 or a negative mbedTLS error. Later calls do nothing. */
int tls_rng_init(void);
/* tls_rng_fill - len random bytes; 0 or a negative error */
int tls_rng_fill(void *buf, size_t len);
void tls_rng_fini(void);

/* tls_conf_new - a configuration; 0, or <0 with err set ("cannot read
 * /etc/ssl/x.pem: ...") */
int tls_conf_new(const struct tls_conf_opts *o, struct tls_conf **out,
    char *err, size_t errlen);
void tls_conf_free(struct tls_conf *c);

/* tls_session_new - a session on conf; sni (client, may be NULL) is the
 * server name sent and the name a PKIX check compares. 0 or <0. */
int tls_session_new(struct tls_conf *c, const char *sni, struct tls_session **out);
void tls_session_free(struct tls_session *s);
/* tls_session_feed - ciphertext received; 0 or -ENOMEM */
int tls_session_feed(struct tls_session *s, const void *buf, size_t len);
/* tls_session_in_space - room for at least min octets of ciphertext at
 * the end of the session's input (for a read straight into it); the
 * pointer, or NULL when out of memory; *cap gets the room. Then
 * tls_session_in_commit(s, n) with what was read. */
void *tls_session_in_space(struct tls_session *s, size_t min, size_t *cap);
void tls_session_in_commit(struct tls_session *s, size_t n);
/* tls_session_handshake - TLS_DONE, 0 (more input needed) or an
 * mbedTLS error (<0) */
int tls_session_handshake(struct tls_session *s);
/* tls_session_read - plaintext into buf: 0 with *got octets (0: more
 * input needed), TLS_EOF, or an error (<0) */
int tls_session_read(struct tls_session *s, void *buf, size_t cap, size_t *got);
/* tls_session_write - all of buf, encrypted to the pending output;
 * 0 or an error */
int tls_session_write(struct tls_session *s, const void *buf, size_t len);
/* tls_session_close - queue a close_notify alert */
void tls_session_close(struct tls_session *s);
/* ciphertext waiting to be sent: its size, then copy it out */
size_t tls_session_pending(const struct tls_session *s);
size_t tls_session_drain(struct tls_session *s, void *dst, size_t cap);

/* after the handshake: "TLS1.2:ECDHE-RSA-WITH-AES-256-GCM-SHA384" (the
 * log's X=) into buf */
const char *tls_session_describe(const struct tls_session *s, char *buf, size_t len);
/* tls_session_peer_chain - the peer's certificates as sent (leaf
 * first), at most max; borrowed from the session */
size_t tls_session_peer_chain(const struct tls_session *s, struct dane_cert *out,
    size_t max);
/* tls_session_pkix - 1 when the peer's chain verified against the
 * conf's CA bundle (and CRL) and, when name_check, its name matches
 * the sni given; why gets the reason when not */
int tls_session_pkix(const struct tls_session *s, int name_check, char *why,
    size_t len);
/* tls_strerror - an mbedTLS error as text */
const char *tls_strerror(int err, char *buf, size_t len);
/* tls_cert_describe - "subject=..., issuer=..., not after ..." of one DER
 * certificate into buf (for the probe and logs) */
const char *tls_cert_describe(const struct dane_cert *c, char *buf, size_t len);
/* tls_cert_pem - the PEM form of a certificate into buf; the length, or
 * 0 when it does not fit */
size_t tls_cert_pem(const struct dane_cert *c, char *buf, size_t len);
/* tls_cert_digests - SHA2-256 of the certificate and of its
 * SubjectPublicKeyInfo (what "3 0 1" and "3 1 1" records hold); 0 or -1 */
int tls_cert_digests(const struct dane_cert *c, unsigned char cert_sha256[32],
    unsigned char spki_sha256[32]);
#else
static inline const char *tls_library_version(void) { return ""; }
static inline int tls_rng_init(void) { return 0; }
static inline int tls_rng_fill(void *buf, size_t len) { (void)buf; (void)len; return -1; }
static inline void tls_rng_fini(void) { }
static inline int tls_conf_new(const struct tls_conf_opts *o, struct tls_conf **out,
    char *err, size_t errlen)
{ (void)o; *out = NULL; if (errlen) err[0] = '\0'; return -1; }
static inline void tls_conf_free(struct tls_conf *c) { (void)c; }
static inline int tls_session_new(struct tls_conf *c, const char *sni,
    struct tls_session **out)
{ (void)c; (void)sni; *out = NULL; return -1; }
static inline void tls_session_free(struct tls_session *s) { (void)s; }
static inline int tls_session_feed(struct tls_session *s, const void *buf, size_t len)
{ (void)s; (void)buf; (void)len; return -1; }
static inline void *tls_session_in_space(struct tls_session *s, size_t min,
    size_t *cap)
{ (void)s; (void)min; *cap = 0; return NULL; }
static inline void tls_session_in_commit(struct tls_session *s, size_t n)
{ (void)s; (void)n; }
static inline int tls_session_handshake(struct tls_session *s) { (void)s; return -1; }
static inline int tls_session_read(struct tls_session *s, void *buf, size_t cap,
    size_t *got)
{ (void)s; (void)buf; (void)cap; *got = 0; return -1; }
static inline int tls_session_write(struct tls_session *s, const void *buf, size_t len)
{ (void)s; (void)buf; (void)len; return -1; }
static inline void tls_session_close(struct tls_session *s) { (void)s; }
static inline size_t tls_session_pending(const struct tls_session *s) { (void)s; return 0; }
static inline size_t tls_session_drain(struct tls_session *s, void *dst, size_t cap)
{ (void)s; (void)dst; (void)cap; return 0; }
static inline const char *tls_session_describe(const struct tls_session *s,
    char *buf, size_t len)
{ (void)s; if (len) buf[0] = '\0'; return buf; }
static inline size_t tls_session_peer_chain(const struct tls_session *s,
    struct dane_cert *out, size_t max)
{ (void)s; (void)out; (void)max; return 0; }
static inline int tls_session_pkix(const struct tls_session *s, int name_check,
    char *why, size_t len)
{ (void)s; (void)name_check; if (len) why[0] = '\0'; return 0; }
static inline const char *tls_strerror(int err, char *buf, size_t len)
{ (void)err; if (len) buf[0] = '\0'; return buf; }
static inline const char *tls_cert_describe(const struct dane_cert *c, char *buf,
    size_t len)
{ (void)c; if (len) buf[0] = '\0'; return buf; }
static inline size_t tls_cert_pem(const struct dane_cert *c, char *buf, size_t len)
{ (void)c; (void)buf; (void)len; return 0; }
static inline int tls_cert_digests(const struct dane_cert *c,
    unsigned char cert_sha256[32], unsigned char spki_sha256[32])
{ (void)c; (void)cert_sha256; (void)spki_sha256; return -1; }
#endif

#endif
