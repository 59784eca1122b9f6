/*
 * tls_compat.h - the one place where mbedTLS 2.28 and 3.x differ for tern.
 *
 * 3.x removed the `_ret` suffix of the hash functions, moved the option
 * header and made struct members private (MBEDTLS_PRIVATE). Code outside
 * this header calls the tls_compat_* names and never tests
 * MBEDTLS_VERSION_NUMBER itself.
 */
#ifndef TERN_TLS_COMPAT_H
#define TERN_TLS_COMPAT_H

#include <mbedtls/version.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <mbedtls/build_info.h>
#else
#if !defined(MBEDTLS_CONFIG_FILE)
#include <mbedtls/config.h>
#else
#include MBEDTLS_CONFIG_FILE
#endif
#endif

#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

/* TLS_COMPAT_PRIV(m) - read a struct member that 3.x made private and
 * offers no accessor for (mbedtls_x509_crt's sig, sig_md, sig_pk,
 * sig_opts): MBEDTLS_PRIVATE(m) there, plain m in 2.28 */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <mbedtls/private_access.h>
#define TLS_COMPAT_PRIV(m) MBEDTLS_PRIVATE(m)
#else
#define TLS_COMPAT_PRIV(m) m
#endif

#if !defined(MBEDTLS_ENTROPY_C) || !defined(MBEDTLS_CTR_DRBG_C)
#error "tern needs an mbedTLS built with MBEDTLS_ENTROPY_C and MBEDTLS_CTR_DRBG_C"
#endif

/* tls_compat_sha256 - SHA2-256 of in into out[32]; 0 or an mbedTLS error */
static inline int tls_compat_sha256(const unsigned char *in, size_t len,
    unsigned char out[32])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	return mbedtls_sha256(in, len, out, 0);
#else
	return mbedtls_sha256_ret(in, len, out, 0);
#endif
}

#if defined(MBEDTLS_SHA512_C)
/* tls_compat_sha512 - SHA2-512 of in into out[64] */
static inline int tls_compat_sha512(const unsigned char *in, size_t len,
    unsigned char out[64])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	return mbedtls_sha512(in, len, out, 0);
#else
	return mbedtls_sha512_ret(in, len, out, 0);
#endif
}
#endif

/* tls_compat_init - what the library needs once before any TLS: 3.x
 * with PSA (TLS 1.3 needs it) initialises the PSA core */
static inline int tls_compat_init(void)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
	return psa_crypto_init() == PSA_SUCCESS ? 0 : -1;
#else
	return 0;
#endif
}

/* tls_compat_pk_parse_keyfile - a private key from a file; 3.x wants the
 * random generator for blinding */
static inline int tls_compat_pk_parse_keyfile(mbedtls_pk_context *pk,
    const char *path, int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	return mbedtls_pk_parse_keyfile(pk, path, NULL, f_rng, p_rng);
#else
	(void)f_rng;
	(void)p_rng;
	return mbedtls_pk_parse_keyfile(pk, path, NULL);
#endif
}

#endif
