#!/bin/sh
# Install what tcpabort-trace needs to build, demo and test, on Debian 12 or
# Ubuntu 22.04/24.04.  Idempotent: apt-get runs only when a package is missing.
set -eu

# nginx-light and curl: real software the integration tests trace.
pkgs="make gcc clang libbpf-dev libelf-dev zlib1g-dev libjansson-dev libcmocka-dev \
pkg-config iproute2 nftables jq python3 nginx-light curl"

# bpftool: its own package on Debian; part of linux-tools on Ubuntu.
if [ -r /etc/os-release ] && . /etc/os-release && [ "${ID:-}" = ubuntu ]; then
	pkgs="$pkgs linux-tools-common linux-tools-$(uname -r)"
else
	pkgs="$pkgs bpftool"
fi

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root (sudo make ...) to install them" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Installing nginx must not start it on port 80: the tests run their own.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod +x "$policy"
	trap 'rm -f "$policy"' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
