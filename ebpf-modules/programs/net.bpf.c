/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.net: no program of its own, only the aliases of net_aliases.h (the original's
 * package name for the default programs). */
#include "net_aliases.h"

char _license[] SEC("license") = "Dual MIT/GPL";
