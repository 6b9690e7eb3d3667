#!/bin/sh
# Rebuilds every object from its sources into a scratch dir and compares it with the
# committed one in obj/. Exit 0 when all match; lists the differences otherwise.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
OUT="$tmp" ./build.sh >/dev/null
status=0
for f in $(cd "$tmp" && find . -name '*.o' | sort); do
	if [ ! -f "obj/$f" ]; then
		echo "missing from obj/: $f"; status=1
	elif ! cmp -s "$tmp/$f" "obj/$f"; then
		echo "stale: obj/$f differs from a fresh build of its source"; status=1
	fi
done
for f in $(cd obj && find . -name '*.o' | sort); do
	[ -f "$tmp/$f" ] || { echo "no source for obj/$f"; status=1; }
done
[ $status -eq 0 ] && echo "all objects match their sources"
exit $status
