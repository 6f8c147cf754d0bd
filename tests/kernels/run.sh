#!/bin/bash
# make check-kernels: boots Debian's own kernel packages under qemu and runs
# this build's tcpabort-trace inside each (--features, the two classic cases,
# --selftest), then prints a kernel x scenario table.
#
#   tests/kernels/run.sh [TARGET...]       (default: bullseye bookworm trixie host sid experimental)
#
# TARGET is a Debian suite whose linux-image-amd64 is booted, or "host": the
# newest Debian package of the running kernel's major.minor, if any.
# Environment: BUILD (build), CACHE (/var/cache/tcpabort-kernels),
# BOOT_TIMEOUT (seconds per boot, 600), MEM (MiB, 1536), TABLE (file to write
# the Markdown table to), GUEST (another script to run in the guest, for debugging),
# TCPABORT_DISABLE (fallbacks the guest's tracer must not take, src/trace.c).
#
# The guest shares the host's root filesystem read-only over 9p, so it runs
# exactly the tool, libraries, ip, nft and python3 the host has; it boots a
# tiny initramfs (busybox and the 9p modules from the kernel package).
# Exit status: 0 if every case passed or is degraded with a reason, 1 if any
# failed or a kernel did not boot, 2 on a setup error.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
BUILD=${BUILD:-build}
CACHE=${CACHE:-/var/cache/tcpabort-kernels}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
MEM=${MEM:-1536}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(bullseye bookworm trixie host sid experimental)

die() {
	echo "check-kernels: $*" >&2
	exit 2
}

[ "$(id -u)" -eq 0 ] || die "needs root (9p export of / and BPF in the guest): sudo make check-kernels"
[ -x "$BUILD/tcpabort-trace" ] || die "$BUILD/tcpabort-trace is missing: make BUILD=$BUILD first"

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v depmod >/dev/null || need+=(kmod)
command -v zstd >/dev/null || need+=(zstd)
if [ ${#need[@]} -gt 0 ]; then
	echo "check-kernels: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
		--no-install-recommends "${need[@]}" >&2 || die "cannot install ${need[*]}"
fi
mkdir -p "$CACHE/k" "$CACHE/logs" || die "cannot create $CACHE"

# Single-threaded TCG: multi-threaded TCG now and then kills the guest while its
# kernel patches its own code (an int3 left by text_poke when tracepoints switch
# on: seen on 6.12, 6.18, 7.2, 7.3), and it was no faster here (6.12: 64 s vs 66 s).
accel=tcg,thread=single
cpu=max
# KVM when it can really be opened: qemu then runs until the timeout kills it.
if [ -w /dev/kvm ]; then
	timeout 3 qemu-system-x86_64 -accel kvm -machine none -display none -monitor none \
		-serial none -S </dev/null >/dev/null 2>&1
	[ $? -eq 124 ] && accel=kvm cpu=host
fi

# The initramfs: busybox, our init, and the modules that reach 9p.
mkinitrd() {
	local kdir=$1 kver work
	kver=$(cat "$kdir/kver" 2>/dev/null || basename "$(ls -d "$kdir"/root/lib/modules/*/ | head -n 1)")
	work=$(mktemp -d)
	mkdir -p "$work/bin" "$work/sbin" "$work/modules" "$work/proc" "$work/sys" "$work/dev"
	cp /bin/busybox "$work/bin/busybox"
	ln -s busybox "$work/bin/sh"
	cp tests/kernels/init "$work/init"
	printf '#!/bin/sh\nexec /bin/chroot /newroot /usr/sbin/modprobe -d /srv "$@"\n' >"$work/sbin/modprobe"
	chmod +x "$work/init" "$work/sbin/modprobe"
	: >"$work/modules/order"
	modprobe -d "$kdir/root" -S "$kver" --show-depends -a virtio_pci 9pnet_virtio 9p 2>/dev/null |
		awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' | while read -r ko; do
		local base
		base=$(basename "$ko")
		case $ko in
		*.xz) xz -dc "$ko" >"$work/modules/${base%.xz}" ;;
		*.zst) zstd -qdc "$ko" >"$work/modules/${base%.zst}" ;;
		*) cp "$ko" "$work/modules/$base" ;;
		esac
		base=${base%.xz}
		echo "${base%.zst}" >>"$work/modules/order"
	done
	(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) >"$kdir/initrd.img"
	rm -rf "$work"
}

boot() {
	local kdir=$1 log=$2
	timeout --foreground -k 10 "$BOOT_TIMEOUT" qemu-system-x86_64 \
		-accel "$accel" -cpu "$cpu" -m "$MEM" -smp 2 \
		-nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$kdir/vmlinuz" -initrd "$kdir/initrd.img" \
		-append "console=ttyS0 panic=-1 loglevel=4 ta.script=${GUEST:-/run/ta-repo/tests/kernels/guest.sh} ta.args=/run/ta-repo,$BUILD ta.disable=${TCPABORT_DISABLE:-none}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$repo,mount_tag=repo,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$kdir/root,mount_tag=kmods,security_model=none,readonly=on" \
		-device virtio-rng-pci </dev/null >"$log" 2>&1
}

declare -A result reason
cases=()
rows=()
status=0
for target in "${targets[@]}"; do
	kdir=$(tests/kernels/fetch.sh "$CACHE" "$target" 2>"$CACHE/logs/fetch-$target.log")
	rc=$?
	if [ $rc -ne 0 ] || [ -z "$kdir" ]; then
		if [ "$target" = host ] && [ $rc -eq 3 ]; then
			rows+=("host|(no Debian package of $(uname -r | cut -d. -f1,2).x)|skipped|")
		elif [ "$target" = experimental ] && [ $rc -eq 3 ]; then
			rows+=("experimental|(no kernel in experimental now)|skipped|")
		else
			rows+=("$target|(fetch failed: $CACHE/logs/fetch-$target.log)|FAIL|")
			status=1
		fi
		continue
	fi
	rel=$(basename "$kdir")
	mkinitrd "$kdir"
	log=$CACHE/logs/$rel.log
	echo "check-kernels: booting $rel ($target, $accel) ..." >&2
	again=
	for attempt in 1 2; do
		t0=$(date +%s)
		boot "$kdir" "$log"
		brc=$?
		secs=$(($(date +%s) - t0))
		tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
		grep -q '^@@TA done' "$log" && break
		# A guest kernel that died (seen under multi-threaded TCG: an "Oops:
		# int3" while the kernel patches its own code, even before user
		# space) boots once more; a timeout does not.
		[ $brc -eq 124 ] || ! grep -q 'Kernel panic' "$log" && break
		again=$(grep -m 1 -o 'Oops: [^[]*\|Kernel panic.*' "$log" | head -n 1)
		cp "$log" "$log.first"
		echo "check-kernels: $rel died ($again), booting it once more" >&2
	done
	if ! grep -q '^@@TA done' "$log"; then
		why="did not finish"
		[ $brc -eq 124 ] && why="timed out after ${BOOT_TIMEOUT}s"
		grep -q '^@@TA fatal' "$log" && why=$(sed -n 's/^@@TA fatal //p' "$log" | head -n 1)
		rows+=("$target|$rel|FAIL|$why (log: $log)")
		status=1
		continue
	fi
	# A guest that ran no case proves nothing: that is a failure, not an empty pass.
	grc=$(sed -n 's/^@@TA done rc=\([0-9]*\).*/\1/p' "$log" | head -n 1)
	if [ "${grc:-1}" != 0 ] || ! grep -q '^@@TA case ' "$log"; then
		rows+=("$target|$rel|FAIL|the guest script exited $grc with $(grep -c '^@@TA case ' "$log") cases run (log: $log)")
		status=1
		continue
	fi
	boot_s=$(sed -n 's/^@@TA mounted \(.*\)s$/\1/p' "$log")
	st=$(sed -n 's/^@@TA time selftest \([0-9.]*\).*/\1/p' "$log")
	up=$(sed -n 's/^@@TA time startup \([0-9.]*\).*/\1/p' "$log")
	rows+=("$target|$rel|booted|boot ${boot_s}s, tracer start-up ${up}s, selftest ${st}s, whole run ${secs}s${again:+; second boot, the first died: $again}")
	while read -r _ _ name res rest; do
		[[ " ${cases[*]} " == *" $name "* ]] || cases+=("$name")
		result[$rel,$name]=$res
		reason[$rel,$name]=$(echo "$rest" | sed -n 's/.* # //p')
		[ "$res" = FAIL ] && status=1
	done < <(grep '^@@TA case ' "$log")
	# What the kernel's path choices were, for the docs.
	sed -n 's/^@@TA features //p' "$log" >"$CACHE/logs/$rel.features"
done

# A case that one booted kernel ran and another did not is a failure there.
for r in "${rows[@]}"; do
	IFS='|' read -r _ rel state _ <<<"$r"
	[ "$state" = booted ] || continue
	for c in "${cases[@]}"; do
		if [ -z "${result[$rel,$c]:-}" ]; then
			result[$rel,$c]=FAIL
			reason[$rel,$c]="not run"
			status=1
		fi
	done
done

# The table: one column per kernel that booted.
{
	echo "| kernel | suite | run |"
	echo "|---|---|---|"
	for r in "${rows[@]}"; do
		IFS='|' read -r target rel state note <<<"$r"
		echo "| $rel | $target | $state${note:+: $note} |"
	done
	echo
	kernels=()
	for r in "${rows[@]}"; do
		IFS='|' read -r _ rel state _ <<<"$r"
		[ "$state" = booted ] && kernels+=("$rel")
	done
	printf '| scenario |'
	printf ' %s |' "${kernels[@]}"
	printf '\n|---|'
	printf -- '---|%.0s' "${kernels[@]}"
	printf '\n'
	for c in "${cases[@]}"; do
		printf '| %s |' "$c"
		for k in "${kernels[@]}"; do
			res=${result[$k,$c]:--}
			printf ' %s |' "$res"
		done
		printf '\n'
	done
	echo
	for k in "${kernels[@]}"; do
		for c in "${cases[@]}"; do
			[ "${result[$k,$c]:-}" = degraded ] &&
				echo "- $k, $c: degraded: ${reason[$k,$c]}"
			[ "${result[$k,$c]:-}" = FAIL ] &&
				echo "- $k, $c: FAIL (log: $CACHE/logs/$k.log)"
			[ "${result[$k,$c]:-}" = pass ] && [ -n "${reason[$k,$c]:-}" ] &&
				echo "- $k, $c: ${reason[$k,$c]}"
		done
	done
} | tee "$CACHE/last-table.md" "${TABLE:-/dev/null}"
exit $status
