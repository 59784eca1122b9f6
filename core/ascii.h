/*
 * ascii.h - locale-free ASCII helpers shared by the protocol parsers
 * (SMTP commands and replies compare keywords without regard to case,
 * octet by octet, NULs included, whatever the C library's locale).
 */
#ifndef TERN_ASCII_H
#define TERN_ASCII_H

#include <stddef.h>

/* ascii_caseeq - 1 when a[0..n) and b[0..n) are equal ignoring ASCII case */
static inline int ascii_caseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'a' && x <= 'z')
			x = (unsigned char)(x - 'a' + 'A');
		if (y >= 'a' && y <= 'z')
			y = (unsigned char)(y - 'a' + 'A');
		if (x != y)
			return 0;
	}
	return 1;
}

#endif
