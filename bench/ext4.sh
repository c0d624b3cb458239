#!/usr/bin/env bash
# Benchmarks for `purefs mkfs ext4`, side by side with `mke2fs -t ext4 -d`
# and with `tar -cf` of the same tree (the I/O floor), as ratios.
#
#   bench/ext4.sh [WORKDIR]
#
# Cases (each timed best of $RUNS, default 3, wall clock):
#   minbase  a generated tree shaped like a Debian minbase root
#            (~7k entries, ~200 MB; bench/ext4tree)
#   large    a tree of >= 100k entries and >= 3 GB: $LARGE_SRC if set
#            (e.g. /usr), else generated; only with BENCH_LARGE=1
#   flat-N   one directory of N empty files: mke2fs -d up to $MKE2FS_FLAT_MAX
#            entries (default 40000; it is quadratic), purefs up to 500k
#   xfs      the minbase tree and the image on a loop-mounted XFS made with
#            mkfs.xfs -m reflink=1 (needs root), purefs vs tar there
#
# CASES selects cases (default "minbase large flat xfs"; large also needs
# BENCH_LARGE=1). Nothing here runs under `go test`. Needs e2fsprogs, tar, GNU time;
# xfsprogs and root for the XFS case.
set -euo pipefail

RUNS=${RUNS:-3}
CASES=${CASES:-minbase large flat xfs}
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
WORK=${1:-$(mktemp -d /tmp/purefs-bench.XXXXXX)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"
PUREFS=$WORK/purefs
(cd "$ROOT" && go build -o "$PUREFS" ./cmd/purefs)

. "$(dirname "$0")/lib.sh"

# once CMD...: one timed run (for the slow quadratic cases).
once() {
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
	e=$(date +%s.%N)
	printf '%.3f' "$(echo "$e - $s" | bc -l)"
}

gen() { (cd "$ROOT" && go run ./bench/ext4tree "$@"); }

# peak RSS in MiB of one purefs run: rss TREE IMAGE SIZE
rss() {
	rm -f "$2"
	/usr/bin/time -f '%M' "$PUREFS" mkfs ext4 --size "$3" --root "$1" "$2" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'
}

size_for() { # image size: twice the tree plus 64 MiB, in MiB
	echo $(( $(du -sm "$1" | cut -f1) * 2 + 64 ))M
}

run_purefs() { rm -f "$2"; "$PUREFS" mkfs ext4 --size "$3" --root "$1" "${@:4}" "$2"; }
run_mke2fs() { rm -f "$2"; truncate -s "$3" "$2"; mke2fs -q -F -t ext4 -b 4096 -d "$1" "$2"; }
run_tar() { rm -f "$2"; tar -C "$1" -cf "$2" .; }

row() { # name tree
	local name=$1 tree=$2 size p m t
	size=$(size_for "$tree")
	p=$(best run_purefs "$tree" "$WORK/p.img" "$size")
	m=$(best run_mke2fs "$tree" "$WORK/m.img" "$size")
	t=$(best run_tar "$tree" "$WORK/t.tar")
	e2fsck -fn "$WORK/p.img" >/dev/null 2>&1 || echo "e2fsck: problems in $WORK/p.img"
	printf '%-10s %8ss %8ss %8ss   %5.2fx tar   %5.2fx faster than mke2fs   rss %s MiB\n' \
		"$name" "$p" "$m" "$t" "$(echo "$p / $t" | bc -l)" "$(echo "$m / $p" | bc -l)" \
		"$(rss "$tree" "$WORK/p.img" "$size")"
}

echo "purefs mkfs ext4 vs mke2fs -t ext4 -d vs tar -cf (best of $RUNS, $(nproc) cores)"
printf '%-10s %9s %9s %9s\n' case purefs mke2fs tar
[ -d "$WORK/minbase" ] || gen "$WORK/minbase" 7000 200000000
if want minbase; then row minbase "$WORK/minbase"; fi

if want large && [ "${BENCH_LARGE:-0}" = 1 ]; then
	if [ -n "${LARGE_SRC:-}" ]; then large=$LARGE_SRC; else
		large=$WORK/large
		[ -d "$large" ] || gen "$large" 110000 3200000000
	fi
	row large "$large"
fi

want flat && echo && echo "one directory, N entries"
want flat && for n in 10000 20000 40000 100000 200000 500000; do
	d=$WORK/flat-$n
	[ -d "$d" ] || gen "$d" "$n" 0 flat
	p=$(best run_purefs "$d" "$WORK/p.img" 2G)
	e2fsck -fn "$WORK/p.img" >/dev/null 2>&1 || echo "e2fsck: problems in $WORK/p.img"
	if [ "$n" -le "${MKE2FS_FLAT_MAX:-40000}" ]; then
		m=$(once run_mke2fs "$d" "$WORK/m.img" 2G)
		printf 'flat-%-7s purefs %7ss   mke2fs %8ss   (%.0fx)\n' "$n" "$p" "$m" "$(echo "$m / $p" | bc -l)"
	else
		printf 'flat-%-7s purefs %7ss\n' "$n" "$p"
	fi
done

if want xfs && [ "$(id -u)" = 0 ] && command -v mkfs.xfs >/dev/null; then
	echo
	echo "on XFS with reflink=1 (tree and image on the same file system)"
	x=$WORK/xfs
	mkdir -p "$x"
	truncate -s 4G "$WORK/xfs.img"
	mkfs.xfs -q -f -m reflink=1 "$WORK/xfs.img"
	mount -o loop "$WORK/xfs.img" "$x"
	trap 'umount "$x"' EXIT
	cp -a "$WORK/minbase" "$x/minbase"
	size=$(size_for "$x/minbase")
	p=$(best run_purefs "$x/minbase" "$x/p.img" "$size")
	c=$(best run_purefs "$x/minbase" "$x/p.img" "$size" --no-zero-scan)
	t=$(best run_tar "$x/minbase" "$x/t.tar")
	e2fsck -fn "$x/p.img" >/dev/null 2>&1 || echo "e2fsck: problems in $x/p.img"
	printf 'xfs        purefs %ss (%.2fx tar), --no-zero-scan %ss (%.2fx tar), tar %ss\n' \
		"$p" "$(echo "$p / $t" | bc -l)" "$c" "$(echo "$c / $t" | bc -l)" "$t"
fi
