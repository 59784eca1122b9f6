/*
 * tls_conf.c - TLS configurations (tls.h): the client's (server
 * certificates are verified after the handshake, by DANE or PKIX, so
 * the handshake itself accepts any chain) and the server's (its
 * certificate and key). One configuration serves many sessions.
 */
#include "tls/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "tls/tls_compat.h"
#include "tls/tls_int.h"

/* tls_conf_rng - the process's DRBG, as mbedTLS wants a generator */
int tls_conf_rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return tls_rng_fill(buf, len);
}

static int conf_fail(char *err, size_t errlen, const char *what,
    const char *path, int r)
{
	char e[128];

	snprintf(err, errlen, "%s %s: %s", what, path, tls_strerror(r, e, sizeof(e)));
	return r < 0 ? r : -EINVAL;
}

/* conf_load_ca - the CA bundle (a file or a directory of PEM files) and
 * the CRL; a bundle where some certificates do not parse still counts */
static int conf_load_ca(struct tls_conf *c, const struct tls_conf_opts *o,
    char *err, size_t errlen)
{
	int r;

	if (!o->ca_file || !o->ca_file[0])
		return 0;
	mbedtls_x509_crt_init(&c->ca);
	c->have_ca = 1;
	r = mbedtls_x509_crt_parse_file(&c->ca, o->ca_file);
	if (r < 0)
		r = mbedtls_x509_crt_parse_path(&c->ca, o->ca_file);
	if (r < 0 || c->ca.version == 0)
		return conf_fail(err, errlen, "cannot load the CA certificates",
		    o->ca_file, r < 0 ? r : -1);
	if (o->crl_file && o->crl_file[0]) {
		mbedtls_x509_crl_init(&c->crl);
		c->have_crl = 1;
		if ((r = mbedtls_x509_crl_parse_file(&c->crl, o->crl_file)) != 0)
			return conf_fail(err, errlen, "cannot load the CRL", o->crl_file, r);
	}
	mbedtls_ssl_conf_ca_chain(&c->ssl, &c->ca, c->have_crl ? &c->crl : NULL);
	return 0;
}

/* conf_load_own - the server's certificate chain and key */
static int conf_load_own(struct tls_conf *c, const struct tls_conf_opts *o,
    char *err, size_t errlen)
{
	int r;

	if (!o->cert_file || !o->cert_file[0] || !o->key_file || !o->key_file[0]) {
		snprintf(err, errlen, "tls_certificate and tls_privatekey are both needed");
		return -EINVAL;
	}
	mbedtls_x509_crt_init(&c->own);
	mbedtls_pk_init(&c->key);
	c->have_own = 1;
	if ((r = mbedtls_x509_crt_parse_file(&c->own, o->cert_file)) != 0)
		return conf_fail(err, errlen, "cannot load the certificate", o->cert_file, r);
	r = tls_compat_pk_parse_keyfile(&c->key, o->key_file, tls_conf_rng, NULL);
	if (r != 0)
		return conf_fail(err, errlen, "cannot load the private key", o->key_file, r);
	if ((r = mbedtls_ssl_conf_own_cert(&c->ssl, &c->own, &c->key)) != 0)
		return conf_fail(err, errlen, "cannot use the certificate", o->cert_file, r);
	return 0;
}

int tls_conf_new(const struct tls_conf_opts *o, struct tls_conf **out,
    char *err, size_t errlen)
{
	struct tls_conf *c;
	int r;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if ((r = tls_rng_init()) != 0) {
		snprintf(err, errlen, "cannot seed the random generator");
		return r < 0 ? r : -EIO;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	mbedtls_ssl_config_init(&c->ssl);
	c->server = o->server;
	r = mbedtls_ssl_config_defaults(&c->ssl, o->server ? MBEDTLS_SSL_IS_SERVER :
	    MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	    MBEDTLS_SSL_PRESET_DEFAULT);
	if (r != 0) {
		conf_fail(err, errlen, "TLS", "defaults", r);
		tls_conf_free(c);
		return r;
	}
	mbedtls_ssl_conf_rng(&c->ssl, tls_conf_rng, NULL);
	/* the client decides after the handshake (DANE, PKIX or none);
	 * the server does not ask for client certificates */
	mbedtls_ssl_conf_authmode(&c->ssl, o->server ? MBEDTLS_SSL_VERIFY_NONE :
	    MBEDTLS_SSL_VERIFY_OPTIONAL);
	r = o->server ? conf_load_own(c, o, err, errlen) : conf_load_ca(c, o, err, errlen);
	if (r != 0) {
		tls_conf_free(c);
		return r;
	}
	*out = c;
	return 0;
}

void tls_conf_free(struct tls_conf *c)
{
	if (!c)
		return;
	mbedtls_ssl_config_free(&c->ssl);
	if (c->have_ca)
		mbedtls_x509_crt_free(&c->ca);
	if (c->have_crl)
		mbedtls_x509_crl_free(&c->crl);
	if (c->have_own) {
		mbedtls_x509_crt_free(&c->own);
		mbedtls_pk_free(&c->key);
	}
	free(c);
}
