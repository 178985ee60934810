#!/bin/sh
# mmdebstrap customize hook for the Flink images' base layer; $1 is the root directory being built.
set -eu
root="$1"

# The user the official Flink images run as (uid/gid 9999, home /opt/flink).
echo 'flink:x:9999:' >>"$root/etc/group"
echo 'flink:x:9999:9999::/opt/flink:/bin/bash' >>"$root/etc/passwd"
if [ -f "$root/etc/shadow" ]; then echo 'flink:!:::::::' >>"$root/etc/shadow"; fi
if [ -f "$root/etc/gshadow" ]; then echo 'flink:!::' >>"$root/etc/gshadow"; fi

# init-system-helpers accepts usr-is-merged instead of usrmerge, which drags in the whole of perl.
chroot "$root" dpkg --purge usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl \
  perl libperl5.36 perl-modules-5.36 libgdbm-compat4

# A container runtime provides these; the build host's copies must not leak into the image.
rm -f "$root/etc/hostname" "$root/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"

# Caches and logs that only matter to a system that gets upgraded in place.
rm -rf "$root/var/cache/debconf/"*-old "$root/var/lib/dpkg/"*-old "$root/var/cache/man" \
  "$root/var/log/"*.log "$root/var/log/apt"
