/*
 * kconfig.h - test Kconfig symbols in C expressions.
 *
 * IS_ENABLED(CONFIG_X) is 1 when build/.config set CONFIG_X=y and 0 when it
 * is unset, so code reads `if (IS_ENABLED(CONFIG_TLS))` instead of #ifdef and
 * the compiler still checks the disabled branch before dropping it
 * (BusyBox's "Folly of #ifdef"). Same preprocessor trick as Linux's
 * include/linux/kconfig.h; plain C11.
 */
#ifndef TERN_KCONFIG_H
#define TERN_KCONFIG_H

#include "generated/autoconf.h"

#define TERN_ARG_PLACEHOLDER_1 0,
#define tern_take_second_arg(ignored, val, ...) val
#define tern_is_defined(x) tern_is_defined_(x)
#define tern_is_defined_(val) tern_is_defined__(TERN_ARG_PLACEHOLDER_##val)
#define tern_is_defined__(arg1_or_junk) tern_take_second_arg(arg1_or_junk 1, 0, 0)

#define IS_ENABLED(option) tern_is_defined(option)

#endif
