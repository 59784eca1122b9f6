/*
 * tls_cert.c - one certificate in words or in PEM (tls.h), for the
 * probe's report, `tern dane verify` and the TLS_OUT_PEERCERT variable.
 */
#include "tls/tls.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/x509_crt.h>

#include "tls/tls_compat.h"

const char *tls_cert_describe(const struct dane_cert *c, char *buf, size_t len)
{
	mbedtls_x509_crt crt;
	char subj[256], iss[256];

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, c->der, c->len) != 0) {
		snprintf(buf, len, "(a certificate that does not parse, %zu octets)", c->len);
		mbedtls_x509_crt_free(&crt);
		return buf;
	}
	if (mbedtls_x509_dn_gets(subj, sizeof(subj), &crt.subject) < 0)
		snprintf(subj, sizeof(subj), "?");
	if (mbedtls_x509_dn_gets(iss, sizeof(iss), &crt.issuer) < 0)
		snprintf(iss, sizeof(iss), "?");
	snprintf(buf, len, "subject=%s, issuer=%s, not before "
	    "%04d-%02d-%02d %02d:%02d:%02d, not after %04d-%02d-%02d %02d:%02d:%02d",
	    subj, iss, crt.valid_from.year, crt.valid_from.mon, crt.valid_from.day,
	    crt.valid_from.hour, crt.valid_from.min, crt.valid_from.sec,
	    crt.valid_to.year, crt.valid_to.mon, crt.valid_to.day,
	    crt.valid_to.hour, crt.valid_to.min, crt.valid_to.sec);
	mbedtls_x509_crt_free(&crt);
	return buf;
}

size_t tls_cert_pem(const struct dane_cert *c, char *buf, size_t len)
{
	static const char head[] = "-----BEGIN CERTIFICATE-----\n";
	static const char tail[] = "-----END CERTIFICATE-----\n";
	size_t o = 0, i;

	if (len < sizeof(head))
		return 0;
	memcpy(buf, head, sizeof(head) - 1);
	o = sizeof(head) - 1;
	/* 48 octets make a line of 64 */
	for (i = 0; i < c->len; i += 48) {
		size_t n = c->len - i > 48 ? 48 : c->len - i, w = 0;

		if (mbedtls_base64_encode((unsigned char *)buf + o, len - o, &w,
		    c->der + i, n) != 0 || o + w + 1 >= len)
			return 0;
		o += w;
		buf[o++] = '\n';
	}
	if (o + sizeof(tail) > len)
		return 0;
	memcpy(buf + o, tail, sizeof(tail));
	return o + sizeof(tail) - 1;
}

int tls_cert_digests(const struct dane_cert *c, unsigned char cert_sha256[32],
    unsigned char spki_sha256[32])
{
	mbedtls_x509_crt crt;
	int r;

	mbedtls_x509_crt_init(&crt);
	r = mbedtls_x509_crt_parse_der(&crt, c->der, c->len);
	if (r == 0)
		r = tls_compat_sha256(c->der, c->len, cert_sha256);
	if (r == 0)
		r = tls_compat_sha256(crt.TLS_COMPAT_PRIV(pk_raw).p,
		    crt.TLS_COMPAT_PRIV(pk_raw).len, spki_sha256);
	mbedtls_x509_crt_free(&crt);
	return r == 0 ? 0 : -1;
}
