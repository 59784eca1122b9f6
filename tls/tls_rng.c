/*
 * tls_rng.c - the one CTR-DRBG of the process, seeded once from the
 * system entropy source; every TLS context and anything else that needs
 * unpredictable bytes draws from it (tls.h).
 */
#include "tls/tls.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/version.h>

#include "tls/tls_compat.h"

static struct {
	int ready;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	char version[32];
} tls_rng;

const char *tls_library_version(void)
{
	mbedtls_version_get_string(tls_rng.version);
	return tls_rng.version;
}

int tls_rng_init(void)
{
	static const unsigned char pers[] = "tern";
	int r;

	if (tls_rng.ready)
		return 0;
	if (tls_compat_init() != 0)
		return -1;
	mbedtls_entropy_init(&tls_rng.entropy);
	mbedtls_ctr_drbg_init(&tls_rng.drbg);
	r = mbedtls_ctr_drbg_seed(&tls_rng.drbg, mbedtls_entropy_func,
	    &tls_rng.entropy, pers, sizeof(pers) - 1);
	if (r != 0) {
		mbedtls_ctr_drbg_free(&tls_rng.drbg);
		mbedtls_entropy_free(&tls_rng.entropy);
		return r;
	}
	tls_rng.ready = 1;
	return 0;
}

int tls_rng_fill(void *buf, size_t len)
{
	unsigned char *p = buf;
	int r;

	if (!tls_rng.ready && (r = tls_rng_init()) != 0)
		return r;
	while (len) {
		size_t n = len > MBEDTLS_CTR_DRBG_MAX_REQUEST ?
		    MBEDTLS_CTR_DRBG_MAX_REQUEST : len;

		if ((r = mbedtls_ctr_drbg_random(&tls_rng.drbg, p, n)) != 0)
			return r;
		p += n;
		len -= n;
	}
	return 0;
}

void tls_rng_fini(void)
{
	if (!tls_rng.ready)
		return;
	mbedtls_ctr_drbg_free(&tls_rng.drbg);
	mbedtls_entropy_free(&tls_rng.entropy);
	tls_rng.ready = 0;
}
