/*
 * tls_session.c - one TLS session over memory buffers (tls.h): mbedTLS
 * reads ciphertext from `in` (filled by tls_session_feed) and writes
 * ciphertext to `out` (emptied by tls_session_drain), so the caller's
 * event loop does all the I/O.
 */
#include "tls/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "tls/tls_compat.h"
#include "tls/tls_int.h"

#define TLS_OUT_MAX (256 * 1024)	/* unsent ciphertext at most */

/* buf_append - add n octets; 0 or -ENOMEM */
static int buf_append(struct tls_buf *b, const unsigned char *p, size_t n)
{
	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *d;

		if (b->off) {
			memmove(b->data, b->data + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		while (cap < b->len + n)
			cap *= 2;
		if (cap != b->cap) {
			if (!(d = realloc(b->data, cap)))
				return -ENOMEM;
			b->data = d;
			b->cap = cap;
		}
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static void buf_free(struct tls_buf *b)
{
	if (b->data)
		mbedtls_platform_zeroize(b->data, b->cap);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* session_send - mbedTLS's output goes to the out buffer */
static int session_send(void *ctx, const unsigned char *p, size_t n)
{
	struct tls_session *s = ctx;

	if (s->out.len - s->out.off + n > TLS_OUT_MAX)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (buf_append(&s->out, p, n) < 0) {
		s->oom = 1;
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	}
	return (int)n;
}

/* session_recv - mbedTLS reads what was fed */
static int session_recv(void *ctx, unsigned char *p, size_t n)
{
	struct tls_session *s = ctx;
	size_t have = s->in.len - s->in.off;

	if (have == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > have)
		n = have;
	memcpy(p, s->in.data + s->in.off, n);
	s->in.off += n;
	return (int)n;
}

int tls_session_new(struct tls_conf *c, const char *sni, struct tls_session **out)
{
	struct tls_session *s;
	int r;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	s->conf = c;
	s->have_ca = c->have_ca;
	mbedtls_ssl_init(&s->ssl);
	if ((r = mbedtls_ssl_setup(&s->ssl, &c->ssl)) != 0 ||
	    (!c->server && sni && sni[0] &&
	    (r = mbedtls_ssl_set_hostname(&s->ssl, sni)) != 0)) {
		tls_session_free(s);
		return r;
	}
	mbedtls_ssl_set_bio(&s->ssl, s, session_send, session_recv, NULL);
	*out = s;
	return 0;
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	mbedtls_ssl_free(&s->ssl);
	buf_free(&s->in);
	buf_free(&s->out);
	free(s);
}

int tls_session_feed(struct tls_session *s, const void *buf, size_t len)
{
	return buf_append(&s->in, buf, len);
}

void *tls_session_in_space(struct tls_session *s, size_t min, size_t *cap)
{
	struct tls_buf *b = &s->in;

	if (b->off == b->len)
		b->off = b->len = 0;
	if (b->cap - b->len < min) {
		if (b->off) {
			memmove(b->data, b->data + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		if (b->cap - b->len < min) {
			size_t ncap = b->cap ? b->cap : 4096;
			unsigned char *d;

			while (ncap - b->len < min)
				ncap *= 2;
			if (!(d = realloc(b->data, ncap)))
				return NULL;
			b->data = d;
			b->cap = ncap;
		}
	}
	*cap = b->cap - b->len;
	return b->data + b->len;
}

void tls_session_in_commit(struct tls_session *s, size_t n)
{
	s->in.len += n;
}

int tls_session_handshake(struct tls_session *s)
{
	int r;

	if (s->done)
		return TLS_DONE;
	r = mbedtls_ssl_handshake(&s->ssl);
	if (r == 0) {
		s->done = 1;
		return TLS_DONE;
	}
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return 0;
	return r;
}

int tls_session_read(struct tls_session *s, void *buf, size_t cap, size_t *got)
{
	int r;

	*got = 0;
	r = mbedtls_ssl_read(&s->ssl, buf, cap);
	if (r > 0) {
		*got = (size_t)r;
		return 0;
	}
	if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return TLS_EOF;
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return 0;
	return r;
}

int tls_session_write(struct tls_session *s, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int r;

	while (len) {
		r = mbedtls_ssl_write(&s->ssl, p, len);
		if (r < 0)
			return s->oom ? -ENOMEM : r == MBEDTLS_ERR_SSL_WANT_WRITE ?
			    -ENOBUFS : r;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

void tls_session_close(struct tls_session *s)
{
	(void)mbedtls_ssl_close_notify(&s->ssl);
}

size_t tls_session_pending(const struct tls_session *s)
{
	return s->out.len - s->out.off;
}

size_t tls_session_drain(struct tls_session *s, void *dst, size_t cap)
{
	size_t n = s->out.len - s->out.off;

	if (n > cap)
		n = cap;
	memcpy(dst, s->out.data + s->out.off, n);
	s->out.off += n;
	return n;
}

const char *tls_session_describe(const struct tls_session *s, char *buf, size_t len)
{
	const char *v = mbedtls_ssl_get_version(&s->ssl);
	const char *c = mbedtls_ssl_get_ciphersuite(&s->ssl);

	if (!c)
		c = "";
	if (strncmp(v, "TLSv", 4) == 0) {
		snprintf(buf, len, "TLS%s:%s", v + 4,
		    strncmp(c, "TLS-", 4) == 0 ? c + 4 : c);
	} else {
		snprintf(buf, len, "%s:%s", v, c);
	}
	return buf;
}

size_t tls_session_peer_chain(const struct tls_session *s, struct dane_cert *out,
    size_t max)
{
	const mbedtls_x509_crt *c = mbedtls_ssl_get_peer_cert(&s->ssl);
	size_t n = 0;

	for (; c && c->raw.len && n < max; c = c->next) {
		out[n].der = c->raw.p;
		out[n].len = c->raw.len;
		n++;
	}
	return n;
}

int tls_session_pkix(const struct tls_session *s, int name_check, char *why,
    size_t len)
{
	uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);
	char info[512];
	int n;

	if (!s->have_ca) {
		snprintf(why, len, "no CA certificates (tls_verify_certificates)");
		return 0;
	}
	if (!mbedtls_ssl_get_peer_cert(&s->ssl)) {
		snprintf(why, len, "no server certificate");
		return 0;
	}
	if (!name_check)
		flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
	if (flags == 0) {
		if (len)
			why[0] = '\0';
		return 1;
	}
	n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
	if (n < 0)
		snprintf(info, sizeof(info), "verification failed (flags %#x)",
		    (unsigned)flags);
	/* one line: the library writes one per problem */
	{
		char *p;

		for (p = info; *p; p++)
			if (*p == '\n')
				*p = p[1] ? ';' : '\0';
	}
	snprintf(why, len, "%s", info);
	return 0;
}

const char *tls_strerror(int err, char *buf, size_t len)
{
	if (err == -ENOMEM) {
		snprintf(buf, len, "out of memory");
		return buf;
	}
#if defined(MBEDTLS_ERROR_C)
	mbedtls_strerror(err, buf, len);
#else
	buf[0] = '\0';
#endif
	if (!buf[0] || strncmp(buf, "UNKNOWN ERROR", 13) == 0)
		snprintf(buf, len, "TLS error -0x%04x", (unsigned)-err);
	return buf;
}
