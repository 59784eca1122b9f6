/*
 * tls_int.h - what the files of tls/ share and nobody else sees: the
 * layout of a configuration and of a session.
 */
#ifndef TERN_TLS_INT_H
#define TERN_TLS_INT_H

#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

struct tls_conf {
	mbedtls_ssl_config ssl;
	int server;
	int have_ca, have_crl, have_own;
	mbedtls_x509_crt ca;		/* client: the PKIX trust anchors */
	mbedtls_x509_crl crl;
	mbedtls_x509_crt own;		/* server: its chain */
	mbedtls_pk_context key;
};

/* a growing byte buffer: data[off..len) is still to be used */
struct tls_buf {
	unsigned char *data;
	size_t off, len, cap;
};

struct tls_session {
	mbedtls_ssl_context ssl;
	const struct tls_conf *conf;
	struct tls_buf in;		/* ciphertext received */
	struct tls_buf out;		/* ciphertext to send */
	int oom;
	int done;			/* handshake finished */
	int have_ca;
};

/* tls_conf_rng - the DRBG in mbedTLS's form (f_rng) */
int tls_conf_rng(void *ctx, unsigned char *buf, size_t len);

#endif
