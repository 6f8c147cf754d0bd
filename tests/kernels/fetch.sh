#!/bin/bash
# Fetches one Debian kernel package with apt and unpacks it for a qemu boot.
#
#   tests/kernels/fetch.sh CACHE TARGET
#
# TARGET is a Debian suite (bullseye, bookworm, trixie, sid, experimental) or
# "host" (the newest Debian package of the running kernel's major.minor in
# any of those suites and their backports, if there is one).  Prints the
# unpacked kernel's directory (CACHE/k/RELEASE) on stdout, or nothing and
# exit 3 when the suite has no such kernel.
#
# No host name is written anywhere: the mirrors are the ones this system's
# apt sources name.  Each suite gets a private apt configuration under CACHE
# (sources, lists, archives), signed by the system's Debian archive keyring:
# apt verifies the Release signature and every package's hash as usual, and
# /etc/apt is never touched.
set -euo pipefail

cache=$1
target=$2
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# "URI suite" for every Debian source of this system (one-line and deb822 formats).
system_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" { u = ""; for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) {
			if (u == "") { u = $i } else { print u, $i; break } } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk 'function flush() { if (enabled && uris != "" && suites != "") {
				n = split(uris, U, " "); m = split(suites, S, " ");
				for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print U[i], S[j] }
				uris = ""; suites = ""; enabled = 1 }
			BEGIN { enabled = 1 }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]*#/ { next }
			tolower($1) == "uris:" { $1 = ""; uris = $0 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 }
			tolower($1) == "enabled:" { enabled = (tolower($2) != "no") }
			END { flush() }' "$f"
	done
}

# The archive mirror (a source with a plain Debian suite) and the security one.
debian_suite='^(buster|bullseye|bookworm|trixie|forky|duke|sid|stable|testing|unstable|oldstable)'
mirror=$(system_sources | awk -v re="$debian_suite" '$2 ~ re && $2 !~ /-security$/ { print $1; exit }')
security=$(system_sources | awk '$2 ~ /-security$/ { print $1; exit }')
if [ -z "$mirror" ]; then
	echo "fetch: no Debian archive in this system's apt sources" >&2
	exit 2
fi

# The suites one target needs, each "URI suite".
suites_of() {
	case $1 in
	bullseye | bookworm | trixie)
		echo "$mirror $1"
		echo "$mirror $1-updates"
		[ -n "$security" ] && echo "$security $1-security"
		;;
	sid) echo "$mirror sid" ;;
	experimental)
		echo "$mirror sid"
		echo "$mirror experimental"
		;;
	host)
		echo "$mirror trixie-backports"
		echo "$mirror sid"
		echo "$mirror experimental"
		;;
	*)
		echo "fetch: unknown target $1" >&2
		exit 2
		;;
	esac
}

dir=$cache/apt/$target
mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/parts" "$dir/prefs"
: >"$dir/status"
suites_of "$target" | while read -r uri suite; do
	echo "deb [signed-by=$keyring] $uri $suite main"
done >"$dir/sources.list"

apt_opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=$dir/parts"
	-o "Dir::Etc::Preferences=$dir/prefs/none" -o "Dir::Etc::PreferencesParts=$dir/prefs"
	-o "Dir::State::Lists=$dir/lists" -o "Dir::State::status=$dir/status"
	-o "Dir::Cache=$dir" -o "Dir::Cache::archives=$dir/archives"
	-o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
	-o "APT::Architecture=amd64" -o "APT::Architectures::=amd64" -o "Acquire::Languages=none"
	-o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")

# Lists are refreshed once a day: a matrix run should not hit the mirror each time.
stamp=$dir/lists/.updated
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
	apt-get "${apt_opts[@]}" -q update >&2 || {
		echo "fetch: apt-get update failed for $target" >&2
		exit 2
	}
	touch "$stamp"
fi

# The concrete image package: the metapackage's dependency, or for "host"
# the newest linux-image-MAJOR.MINOR*-amd64 anywhere in those suites.
if [ "$target" = host ]; then
	series=$(uname -r | cut -d. -f1,2)
	pkg=$(apt-cache "${apt_opts[@]}" search --names-only "^linux-image-${series//./\\.}[.-].*-amd64$" |
		awk '{ print $1 }' | grep -v -e -dbg -e -unsigned -e -rt- -e cloud | sort -V | tail -n 1)
	release_opt=()
else
	# Since 7.x the image is split into linux-binary-* and linux-modules-*.
	suite=$target
	[ "$target" = experimental ] || suite=
	pkg=$(apt-cache "${apt_opts[@]}" show "linux-image-amd64${suite:+/$suite}" 2>/dev/null |
		sed -n 's/^Depends: //p' | grep -o 'linux-image-[0-9][^ ,]*' | sort -V | tail -n 1)
	release_opt=(${suite:+-t "$suite"})
fi
if [ -z "$pkg" ]; then
	echo "fetch: no kernel package for $target" >&2
	exit 3
fi
release=${pkg#linux-image-}
out=$cache/k/$release
if [ ! -e "$out/.ready" ]; then
	rm -rf "$out"
	mkdir -p "$out"
	want=$pkg
	for extra in "linux-binary-$release" "linux-modules-$release"; do
		apt-cache "${apt_opts[@]}" show "$extra" >/dev/null 2>&1 && want="$want $extra"
	done
	# shellcheck disable=SC2086
	(cd "$dir/archives" && apt-get "${apt_opts[@]}" "${release_opt[@]}" -q download $want >&2)
	for p in $want; do
		dpkg-deb -x "$(ls -t "$dir/archives/${p}_"*.deb | head -n 1)" "$out/root"
	done
	# Modules moved to /usr/lib/modules in later packages; depmod looks in lib/.
	if [ ! -d "$out/root/lib/modules" ] && [ -d "$out/root/usr/lib/modules" ]; then
		ln -s usr/lib "$out/root/lib"
	fi
	kver=$(basename "$(ls -d "$out"/root/lib/modules/*/ | head -n 1)")
	depmod -b "$out/root" "$kver"
	# /boot/vmlinuz-*, or since 7.x /usr/lib/modules/*/vmlinuz.
	cp "$(ls "$out"/root/boot/vmlinuz-* "$out/root/lib/modules/$kver/vmlinuz" 2>/dev/null | head -n 1)" "$out/vmlinuz"
	echo "$kver" >"$out/kver"
	dpkg-deb -f "$(ls -t "$dir/archives/${pkg}_"*.deb | head -n 1)" Version >"$out/version"
	touch "$out/.ready"
fi
echo "$out"
