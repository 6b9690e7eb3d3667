/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The programs the original eCLAT's scripts import from programs.mynet and programs.net,
 * which the lab ships in its own packages: aliases (the same programs, one ID and one set of
 * maps each), not copies. */
#ifndef HIKE_NET_ALIASES_H
#define HIKE_NET_ALIASES_H

#include <hike/api.h>

EXPORT_HIKE_ALIAS(hike_default, hike_drop);
EXPORT_HIKE_ALIAS(hike_default, hike_pass);
EXPORT_HIKE_ALIAS(hike_default, monitor);
EXPORT_HIKE_ALIAS(hike_default, ip6_hset_srcdst);
EXPORT_HIKE_ALIAS(hike_default, lse);
EXPORT_HIKE_ALIAS(hike_default, l2_redirect);
EXPORT_HIKE_ALIAS(meter, ip6_sd_tbmon);
EXPORT_HIKE_ALIAS(meter, ip6_dst_tbmon);
EXPORT_HIKE_ALIAS(meter, ip6_sd_meter);
EXPORT_HIKE_ALIAS(meter, ip6_dst_meter);
EXPORT_HIKE_ALIAS(sampler, ip6_sd_dec2zero);

#endif
