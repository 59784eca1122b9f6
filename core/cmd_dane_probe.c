/*
 * cmd_dane_probe.c - `tern dane probe HOST [PORT]`: a live look at how
 * tern would deliver to HOST, like Postfix's posttls-finger. It looks up
 * the MX records (HOST itself when there are none), each host's AAAA, A
 * and TLSA records with their DNSSEC state, connects, does STARTTLS,
 * prints every certificate and TLSA record, which record matched and
 * why, and whether delivery would go on. It goes through the hosts in
 * MX order and stops at the first one delivery would use.
 *
 * A CLI may block: DNS runs the resolver on a private loop until each
 * answer, SMTP and TLS use a blocking socket with poll() timeouts.
 *
 * Exit status: 0 when delivery would proceed to a host, 1 when it would
 * not (deferred or failed), 64/78 for usage and config errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "core/addrlist.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/smtp_reply.h"
#include "dns/dns_resolver.h"
#include "tls/dane.h"
#include "tls/tls.h"

#define PROBE_TIMEOUT_MS 15000
#define PROBE_ADDRS_MAX 16

/* what the probe keeps of one DNS answer (the result is lent) */
struct probe_answer {
	enum dns_status status;
	enum dns_sec sec;
	char error[160];
	char final_name[DNS_NAME_MAX];
	struct dns_mx *mx;		/* owned */
	size_t n_mx;
	int null_mx;
	struct sockaddr_storage addr[PROBE_ADDRS_MAX];
	size_t n_addr;
	struct dane_tlsa *tlsa;		/* owned, data in tlsa_data */
	unsigned char *tlsa_data;
	size_t n_tlsa;
};

struct probe {
	const struct config *cfg;
	uv_loop_t loop;
	struct dns_resolver *dns;
	unsigned port;
	struct tls_conf *tls;
	/* the connection */
	int fd;
	struct tls_session *s;
	char in[2 * SMTP_REPLY_MAX];
	size_t inlen;
};

static void probe_answer_free(struct probe_answer *a)
{
	free(a->mx);
	free(a->tlsa);
	free(a->tlsa_data);
	memset(a, 0, sizeof(*a));
}

static void probe_addr_add(struct probe_answer *a, int family, const void *bytes)
{
	if (a->n_addr < PROBE_ADDRS_MAX)
		addr_sockaddr(&a->addr[a->n_addr++], family, bytes, 0);
}

static void probe_answer_cb(void *arg, const struct dns_result *res)
{
	struct probe_answer *a = arg;
	size_t i, total = 0, off = 0;

	a->status = res->status;
	a->sec = res->sec;
	a->null_mx = res->null_mx;
	snprintf(a->error, sizeof(a->error), "%s", res->error);
	snprintf(a->final_name, sizeof(a->final_name), "%s", res->final_name);
	if (res->n_mx && (a->mx = calloc(res->n_mx, sizeof(*a->mx)))) {
		memcpy(a->mx, res->mx, res->n_mx * sizeof(*a->mx));
		a->n_mx = res->n_mx;
	}
	for (i = 0; i < res->n_aaaa; i++)
		probe_addr_add(a, AF_INET6, res->aaaa[i]);
	for (i = 0; i < res->n_a; i++)
		probe_addr_add(a, AF_INET, res->a[i]);
	for (i = 0; i < res->n_tlsa; i++)
		total += res->tlsa[i].len;
	if (!res->n_tlsa || !(a->tlsa = calloc(res->n_tlsa, sizeof(*a->tlsa))) ||
	    !(a->tlsa_data = malloc(total + 1)))
		return;
	for (i = 0; i < res->n_tlsa; i++) {
		a->tlsa[i].usage = res->tlsa[i].usage;
		a->tlsa[i].selector = res->tlsa[i].selector;
		a->tlsa[i].mtype = res->tlsa[i].mtype;
		a->tlsa[i].len = res->tlsa[i].len;
		a->tlsa[i].data = a->tlsa_data + off;
		if (res->tlsa[i].len)
			memcpy(a->tlsa_data + off, res->tlsa[i].data, res->tlsa[i].len);
		off += res->tlsa[i].len;
	}
	a->n_tlsa = res->n_tlsa;
}

/* probe_ask - one lookup, waited for */
static void probe_ask(struct probe *p, const char *name, int type,
    struct probe_answer *a)
{
	memset(a, 0, sizeof(*a));
	if (dns_lookup_wait(p->dns, &p->loop, name, type, probe_answer_cb, a) < 0) {
		a->status = DNS_ST_TEMPFAIL;
		snprintf(a->error, sizeof(a->error), "cannot start the lookup");
	}
}

static const char *probe_state(const struct probe_answer *a)
{
	static char buf[240];

	snprintf(buf, sizeof(buf), "%s, %s%s%s", dns_status_name(a->status),
	    dns_sec_name(a->sec), a->error[0] ? ": " : "", a->error);
	return buf;
}

static void probe_hex(const unsigned char *p, size_t n, size_t max)
{
	size_t i;

	for (i = 0; i < n && i < max; i++)
		printf("%02x", p[i]);
	if (n > max)
		printf("...");
}

/* ------------------------------------------------------------ I/O */

/* probe_wait - poll fd for ev; 0 ready, -1 timeout or error */
static int probe_wait(int fd, short ev)
{
	struct pollfd pfd;
	int r;

	pfd.fd = fd;
	pfd.events = ev;
	do
		r = poll(&pfd, 1, PROBE_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

static int probe_send_raw(struct probe *p, const void *buf, size_t len)
{
	const char *c = buf;

	while (len) {
		ssize_t n = send(p->fd, c, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (probe_wait(p->fd, POLLOUT) < 0)
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* probe_tls_out - send what the TLS session has waiting */
static int probe_tls_out(struct probe *p)
{
	char buf[4096];
	size_t n;

	while ((n = tls_session_drain(p->s, buf, sizeof(buf))) > 0)
		if (probe_send_raw(p, buf, n) < 0)
			return -1;
	return 0;
}

/* probe_recv_raw - some bytes from the socket; >0, or -1 (closed, error,
 * timeout) */
static ssize_t probe_recv_raw(struct probe *p, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(p->fd, buf, len, 0);

		if (n > 0)
			return n;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (probe_wait(p->fd, POLLIN) < 0)
				return -1;
			continue;
		}
		return -1;
	}
}

static int probe_send(struct probe *p, const char *line)
{
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", line);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	if (!p->s)
		return probe_send_raw(p, buf, (size_t)n);
	if (tls_session_write(p->s, buf, (size_t)n) < 0)
		return -1;
	return probe_tls_out(p);
}

/* probe_reply - one complete reply into raw (NUL-terminated, its length
 * in *len); its code, or -1 */
static int probe_reply(struct probe *p, char *raw, size_t cap, size_t *len)
{
	for (;;) {
		struct smtp_reply r;
		const char *why;
		long used = smtp_reply_parse(p->in, p->inlen, &r, &why);

		if (used < 0) {
			printf("      bad reply: %s\n", why);
			return -1;
		}
		if (used > 0) {
			size_t n = (size_t)used < cap ? (size_t)used : cap - 1;

			memcpy(raw, p->in, n);
			raw[n] = '\0';
			*len = n;
			memmove(p->in, p->in + used, p->inlen - (size_t)used);
			p->inlen -= (size_t)used;
			return r.code;
		}
		if (p->inlen == sizeof(p->in))
			return -1;
		if (!p->s) {
			ssize_t n = probe_recv_raw(p, p->in + p->inlen, sizeof(p->in) - p->inlen);

			if (n < 0)
				return -1;
			p->inlen += (size_t)n;
		} else {
			char c[4096];
			size_t got = 0;
			int t = tls_session_read(p->s, p->in + p->inlen,
			    sizeof(p->in) - p->inlen, &got);
			ssize_t n;

			if (t != 0)
				return -1;
			p->inlen += got;
			if (got)
				continue;
			if ((n = probe_recv_raw(p, c, sizeof(c))) < 0 ||
			    tls_session_feed(p->s, c, (size_t)n) < 0)
				return -1;
		}
	}
}

/* probe_command - send line (NULL: only read) and print the reply */
static int probe_command(struct probe *p, const char *line, char *raw, size_t cap)
{
	size_t len = 0;
	int code;
	char *c;

	if (line) {
		printf("      > %s\n", line);
		if (probe_send(p, line) < 0) {
			printf("      write failed\n");
			return -1;
		}
	}
	code = probe_reply(p, raw, cap, &len);
	if (code < 0) {
		printf("      no reply (connection closed or timeout)\n");
		return -1;
	}
	for (c = raw; *c; ) {
		size_t n = strcspn(c, "\r\n");

		printf("      < %.*s\n", (int)n, c);
		c += n;
		c += strspn(c, "\r\n");
	}
	return code;
}

/* probe_handshake - the TLS handshake on the socket; 0 or an error */
static int probe_handshake(struct probe *p)
{
	for (;;) {
		char c[4096];
		ssize_t n;
		int r = tls_session_handshake(p->s);

		if (probe_tls_out(p) < 0)
			return -1;
		if (r == TLS_DONE)
			return 0;
		if (r < 0)
			return r;
		if ((n = probe_recv_raw(p, c, sizeof(c))) < 0)
			return -1;
		if (tls_session_feed(p->s, c, (size_t)n) < 0)
			return -1;
	}
}

static int probe_connect(struct probe *p, const struct sockaddr_storage *ss,
    char *addr, size_t len)
{
	struct sockaddr_storage a = *ss;
	socklen_t sl;
	int err = 0;
	socklen_t el = sizeof(err);

	if (a.ss_family == AF_INET) {
		((struct sockaddr_in *)&a)->sin_port = htons((unsigned short)p->port);
		inet_ntop(AF_INET, &((struct sockaddr_in *)&a)->sin_addr, addr, (socklen_t)len);
		sl = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&a)->sin6_port = htons((unsigned short)p->port);
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a)->sin6_addr, addr,
		    (socklen_t)len);
		sl = sizeof(struct sockaddr_in6);
	}
	p->fd = socket(a.ss_family, SOCK_STREAM, 0);
	if (p->fd < 0)
		return -1;
	(void)fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
	if (connect(p->fd, (struct sockaddr *)&a, sl) < 0 && errno != EINPROGRESS)
		err = errno;
	else if (probe_wait(p->fd, POLLOUT) < 0)
		err = ETIMEDOUT;
	else if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err) {
		printf("    connect to [%s]:%u: %s\n", addr, p->port, strerror(err));
		close(p->fd);
		p->fd = -1;
		return -1;
	}
	return 0;
}

static void probe_disconnect(struct probe *p)
{
	if (p->s) {
		tls_session_close(p->s);
		(void)probe_tls_out(p);
	}
	tls_session_free(p->s);
	p->s = NULL;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->inlen = 0;
}

/* ------------------------------------------------------------ report */

/* probe_chain - print the server's certificates */
static size_t probe_chain(struct probe *p, struct dane_cert *chain)
{
	size_t n = tls_session_peer_chain(p->s, chain, TLS_CHAIN_MAX), i;
	char desc[700];

	printf("    certificates (%zu, as sent):\n", n);
	for (i = 0; i < n; i++) {
		unsigned char c[32], s[32];

		printf("      depth %zu: %s\n", i, tls_cert_describe(&chain[i], desc,
		    sizeof(desc)));
		if (tls_cert_digests(&chain[i], c, s) == 0) {
			printf("        cert SHA2-256: ");
			probe_hex(c, 32, 32);
			printf("\n        spki SHA2-256: ");
			probe_hex(s, 32, 32);
			printf("\n");
		}
	}
	return n;
}

static void probe_tlsa_list(const struct probe_answer *t)
{
	char u[32], s[32], m[32];
	size_t i;

	for (i = 0; i < t->n_tlsa; i++) {
		const struct dane_tlsa *r = &t->tlsa[i];

		printf("      record %zu: %u %u %u ", i + 1, r->usage, r->selector, r->mtype);
		probe_hex(r->data, r->len, 64);
		printf("\n        %s %s %s%s\n", dane_usage_name(r->usage, u, sizeof(u)),
		    dane_selector_name(r->selector, s, sizeof(s)),
		    dane_mtype_name(r->mtype, m, sizeof(m)),
		    dane_usable(r) == 1 ? "" : " (not usable for SMTP: ignored)");
	}
}

/* probe_host - one host; 1 when delivery would go on with it */
static int probe_host(struct probe *p, const char *host)
{
	struct probe_answer aaaa, a, tlsa;
	struct probe_answer *addrs[2] = { &aaaa, &a };
	char tname[DNS_NAME_MAX + 16], base[DNS_NAME_MAX], addr[64], raw[SMTP_REPLY_MAX + 1];
	int secure, dane = 0, tls_required = 0, ok = 0, code;
	size_t i, k, usable = 0;

	printf("  host %s\n", host);
	probe_ask(p, host, DNS_T_AAAA, &aaaa);
	probe_ask(p, host, DNS_T_A, &a);
	printf("    AAAA (%s)\n    A    (%s)\n", probe_state(&aaaa), probe_state(&a));
	secure = (aaaa.n_addr || a.n_addr) && (!aaaa.n_addr || aaaa.sec == DNS_SEC_SECURE) &&
	    (!a.n_addr || a.sec == DNS_SEC_SECURE) && aaaa.status != DNS_ST_TEMPFAIL &&
	    a.status != DNS_ST_TEMPFAIL;
	memset(&tlsa, 0, sizeof(tlsa));
	snprintf(base, sizeof(base), "%s", a.final_name[0] ? a.final_name :
	    aaaa.final_name[0] ? aaaa.final_name : host);
	if (!aaaa.n_addr && !a.n_addr) {
		printf("    verdict: host not usable (no address)\n");
		goto out;
	}
	if (!secure) {
		printf("    TLSA: not looked up (the address lookup was not DNSSEC-secure)\n");
	} else if (dns_tlsa_name(p->port, base, tname, sizeof(tname))) {
		probe_ask(p, tname, DNS_T_TLSA, &tlsa);
		printf("    TLSA %s (%s)\n", tname, probe_state(&tlsa));
		if ((tlsa.status == DNS_ST_NODATA || tlsa.status == DNS_ST_NXDOMAIN) &&
		    tlsa.sec == DNS_SEC_SECURE && strcasecmp(base, host) != 0 &&
		    dns_tlsa_name(p->port, host, tname, sizeof(tname))) {
			probe_answer_free(&tlsa);
			snprintf(base, sizeof(base), "%s", host);
			probe_ask(p, tname, DNS_T_TLSA, &tlsa);
			printf("    TLSA %s (%s)\n", tname, probe_state(&tlsa));
		}
		if (tlsa.status == DNS_ST_TEMPFAIL || tlsa.sec == DNS_SEC_BOGUS) {
			printf("    verdict: host not usable: the TLSA lookup failed "
			    "(delivery defers to the next MX host)\n");
			goto out;
		}
		if (tlsa.status == DNS_ST_OK && tlsa.sec == DNS_SEC_SECURE && tlsa.n_tlsa) {
			probe_tlsa_list(&tlsa);
			for (i = 0; i < tlsa.n_tlsa; i++)
				usable += dane_usable(&tlsa.tlsa[i]) == 1;
			tls_required = 1;
			dane = usable > 0;
		}
	}
	printf("    TLS policy: %s\n", dane ? "DANE: authenticated TLS required" :
	    tls_required ? "TLS required, not authenticated (secure TLSA records, "
	    "none usable)" : "opportunistic TLS (no DANE)");
	/* the first address that answers */
	for (k = 0; k < 2 && p->fd < 0; k++)
		for (i = 0; i < addrs[k]->n_addr && p->fd < 0; i++)
			(void)probe_connect(p, &addrs[k]->addr[i], addr, sizeof(addr));
	if (p->fd < 0) {
		printf("    verdict: no address answered: deferred\n");
		goto out;
	}
	printf("    connected to [%s]:%u\n", addr, p->port);
	if ((code = probe_command(p, NULL, raw, sizeof(raw))) != 220 ||
	    (code = probe_command(p, "EHLO probe.invalid", raw, sizeof(raw))) != 250) {
		printf("    verdict: the server did not greet us: deferred\n");
		goto out;
	}
	if (!(smtp_reply_ehlo_caps(raw, strlen(raw), NULL) & SMTP_CAP_STARTTLS)) {
		printf("    verdict: %s\n", tls_required ? "STARTTLS not offered: "
		    "deferred (never in clear text to this host)" :
		    "STARTTLS not offered: delivery in clear text");
		ok = !tls_required;
		goto quit;
	}
	if ((code = probe_command(p, "STARTTLS", raw, sizeof(raw))) != 220) {
		printf("    verdict: %s\n", tls_required ? "STARTTLS refused: deferred" :
		    "STARTTLS refused: delivery in clear text");
		ok = !tls_required;
		goto quit;
	}
	if (p->inlen) {
		printf("    verdict: data after the reply to STARTTLS: deferred\n");
		goto out;
	}
	{
		unsigned char bin[16];
		const char *sni = dane ? base : host;
		char desc[100], e[128];
		struct dane_cert chain[TLS_CHAIN_MAX];
		size_t n;
		int r = -1;

		if (inet_pton(AF_INET, sni, bin) == 1 || inet_pton(AF_INET6, sni, bin) == 1)
			sni = NULL;
		if (tls_session_new(p->tls, sni, &p->s) < 0 ||
		    (r = probe_handshake(p)) != 0) {
			printf("    TLS handshake failed: %s\n",
			    p->s ? tls_strerror(r, e, sizeof(e)) : "cannot start TLS");
			printf("    verdict: %s\n", tls_required ? "deferred (never in clear "
			    "text to this host)" : "delivery again in clear text "
			    "(opportunistic TLS)");
			ok = !tls_required;
			goto out;
		}
		printf("    TLS: %s\n", tls_session_describe(p->s, desc, sizeof(desc)));
		n = probe_chain(p, chain);
		if (dane) {
			const char *names[2] = { base, host };
			struct dane_input in;
			struct dane_result res;

			memset(&in, 0, sizeof(in));
			in.tlsa = tlsa.tlsa;
			in.n_tlsa = tlsa.n_tlsa;
			in.chain = chain;
			in.n_chain = n;
			in.names = names;
			in.n_names = strcasecmp(base, host) == 0 ? 1 : 2;
			in.now = (long long)time(NULL);
			r = dane_verify(&in, &res);
			if (r == 1) {
				printf("    DANE: verified: record %d matched at depth %d: %s\n",
				    res.tlsa_index + 1, res.depth, res.reason);
				printf("    verdict: delivery would proceed (CV=dane)\n");
				ok = 1;
			} else {
				printf("    DANE: not verified: %s\n", res.reason);
				printf("    verdict: deferred (DANE mismatch; the next MX host "
				    "is tried)\n");
			}
		} else {
			printf("    verdict: delivery would proceed with TLS%s\n",
			    tls_required ? " (not authenticated)" : "");
			ok = 1;
		}
	}
quit:
	(void)probe_command(p, "QUIT", raw, sizeof(raw));
out:
	probe_disconnect(p);
	probe_answer_free(&aaaa);
	probe_answer_free(&a);
	probe_answer_free(&tlsa);
	return ok;
}

static int probe_mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

int dane_probe_main(struct cli *cli, int argc, char **argv)
{
	struct config *cfg;
	struct probe p;
	struct probe_answer mx;
	struct tls_conf_opts o;
	char err[256];
	int ok = 0;
	size_t i;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: tern [-C FILE] dane probe HOST [PORT]\n");
		return EX_USAGE_;
	}
	memset(&p, 0, sizeof(p));
	p.fd = -1;
	p.port = 25;
	if (argc == 3) {
		char *end;
		long v = strtol(argv[2], &end, 10);

		if (*end || v < 1 || v > 65535) {
			fprintf(stderr, "tern: dane probe: bad port '%s'\n", argv[2]);
			return EX_USAGE_;
		}
		p.port = (unsigned)v;
	}
	if (!(cfg = cli_config_load(cli)))
		return EX_CONFIG_;
	p.cfg = cfg;
	memset(&o, 0, sizeof(o));
	if (uv_loop_init(&p.loop) < 0) {
		config_release(cfg);
		return EX_OSERR_;
	}
	if (tls_conf_new(&o, &p.tls, err, sizeof(err)) < 0 ||
	    dns_resolver_new(&p.loop, cfg, &p.dns, err, sizeof(err)) < 0) {
		fprintf(stderr, "tern: dane probe: %s\n", err);
		tls_conf_free(p.tls);
		config_release(cfg);
		uv_loop_close(&p.loop);
		return EX_UNAVAILABLE_;
	}
	dns_resolver_describe(p.dns, err, sizeof(err));
	printf("resolver: %s\n", err);
	probe_ask(&p, argv[1], DNS_T_MX, &mx);
	printf("MX %s (%s)\n", argv[1], probe_state(&mx));
	if (mx.status == DNS_ST_TEMPFAIL) {
		printf("verdict: the MX lookup failed: deferred\n");
	} else if (mx.status == DNS_ST_NXDOMAIN) {
		printf("verdict: %s does not exist: mail to it fails\n", argv[1]);
	} else if (mx.null_mx) {
		printf("verdict: null MX (RFC 7505): %s accepts no mail\n", argv[1]);
	} else if (mx.status == DNS_ST_OK && mx.n_mx) {
		qsort(mx.mx, mx.n_mx, sizeof(*mx.mx), probe_mx_cmp);
		for (i = 0; i < mx.n_mx; i++)
			printf("  %u %s\n", mx.mx[i].pref, mx.mx[i].host);
		for (i = 0; i < mx.n_mx && !ok; i++)
			ok = probe_host(&p, mx.mx[i].host);
	} else {
		printf("  no MX records: the host itself (RFC 5321 5.1)\n");
		ok = probe_host(&p, argv[1]);
	}
	printf("%s\n", ok ? "result: delivery would proceed" :
	    "result: delivery would not proceed now");
	probe_answer_free(&mx);
	dns_resolver_free(p.dns);
	while (uv_run(&p.loop, UV_RUN_DEFAULT))
		;
	(void)uv_loop_close(&p.loop);
	tls_conf_free(p.tls);
	config_release(cfg);
	return ok ? EXIT_OK : 1;
}
