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

#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>

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

#endif
