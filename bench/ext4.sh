#!/usr/bin/env bash
# Benchmarks for `purefs mkfs ext4`, side by side with `mke2fs -t ext4 -d`
# and with `tar -cf` of the same tree (the I/O floor), as ratios.
#
#   bench/ext4.sh [WORKDIR]
#
# Timing: with farm-bench installed (unless FARM=0), purefs and its peer
# run in turn, $RUNS pairs (default 5) after a warm-up, and the figures
# are medians: of the wall times, of the ratios taken pair by pair and of
# purefs's peak RSS; every command overwrites its last output (purefs
# rewrites the old image in place, tar truncates its file). A second row
# gives the same medians with a new output each run, the old one removed
# and the file systems synced outside the timed part. Without
# farm-bench, each is timed best of $RUNS (default 3) with its output
# removed untimed.
#
# Cases:
#   minbase  a Debian minbase root: $MINBASE_SRC if set (a directory, or
#            "generated"); else, as root with debootstrap and the Debian
#            mirror reachable, `debootstrap --variant=minbase bookworm`
#            into $BENCH_CACHE/minbase (default /var/cache/purefs-bench,
#            kept across runs); else a generated tree of the same shape
#            (~7k entries, ~200 MB; bench/ext4tree).
#   large    a tree of >= 100k entries and >= 5 GB: $LARGE_SRC if set
#            (e.g. /usr), else generated once into $BENCH_CACHE/large;
#            only with BENCH_LARGE=1. purefs vs tar and peak RSS (mke2fs
#            too with MKE2FS_LARGE=1: it takes minutes)
#   flat-N   one directory of N empty files: mke2fs -d up to $MKE2FS_FLAT_MAX
#            entries (default 40000; it is quadratic), purefs up to 500k
#   xfs      the minbase tree and the image on a loop-mounted XFS made with
#            mkfs.xfs -m reflink=1 (needs root), purefs vs tar there, and
#            that image to qcow2: purefs convert --no-zero-scan vs qemu-img
#
# CASES selects cases (default "minbase large flat xfs"; large also needs
# BENCH_LARGE=1). Nothing here runs under `go test`. Needs e2fsprogs, tar, GNU time;
# xfsprogs and root for the XFS case.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
if have_farm; then RUNS=${RUNS:-5}; else RUNS=${RUNS:-3}; fi
BENCH_CACHE=${BENCH_CACHE:-/var/cache/purefs-bench}
CASES=${CASES:-minbase large flat xfs}
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
WORK=${1:-$(mktemp -d /tmp/purefs-bench.XXXXXX)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"
PUREFS=$WORK/purefs
(cd "$ROOT" && go build -o "$PUREFS" ./cmd/purefs)

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

# Each writes a new file $2; best (CLEAN=$2) removes the last one untimed.
run_purefs() { "$PUREFS" mkfs ext4 --size "$3" --root "$1" "${@:4}" "$2"; }
run_mke2fs() { truncate -s "$3" "$2"; mke2fs -q -F -t ext4 -b 4096 -d "$1" "$2"; }
run_tar() { tar -C "$1" -cf "$2" .; }

# farm_row name tree [mke2fs]: the row with farm-bench's paired medians.
farm_row() {
	local name=$1 tree=$2 size pt pm
	size=$(size_for "$tree")
	pt=$(farm "$PUREFS mkfs ext4 --size $size --root $tree $WORK/p.img" "tar -C $tree -cf $WORK/t.tar .")
	e2fsck -fn "$WORK/p.img" >/dev/null 2>&1 || echo "e2fsck: problems in $WORK/p.img"
	set -- $pt
	printf '%-10s purefs %6ss  tar %6ss  %5.2fx tar' "$name" "$1" "$2" "$3"
	local rss=$4
	if [ "$name" != large ] || [ "${MKE2FS_LARGE:-0}" = 1 ]; then
		pm=$(farm "$PUREFS mkfs ext4 --size $size --root $tree $WORK/p.img" \
			"truncate -s $size $WORK/m.img && mke2fs -q -F -t ext4 -b 4096 -d $tree $WORK/m.img")
		set -- $pm
		printf '   mke2fs %6ss  %5.2fx faster than mke2fs' "$2" "$(echo "1 / $3" | bc -l)"
	fi
	printf '   peak RSS %s MiB (medians of %s pairs)\n' "$rss" "$RUNS"
	# The same with a new output each time: no old image to rewrite in
	# place, no old tar file to free.
	set -- $(fresh "$PUREFS mkfs ext4 --size $size --root $tree $WORK/p.img" "tar -C $tree -cf $WORK/t.tar ." \
		"$WORK/p.img" "$WORK/t.tar")
	printf '%-10s purefs %6ss  tar %6ss  %5.2fx tar   new outputs (removed and synced untimed)\n' "" "$1" "$2" "$3"
	rm -f "$WORK/p.img" "$WORK/m.img" "$WORK/t.tar"
}

row() { # name tree
	if have_farm; then
		farm_row "$@"
		return
	fi
	local name=$1 tree=$2 size p m t
	size=$(size_for "$tree")
	p=$(CLEAN=$WORK/p.img best run_purefs "$tree" "$WORK/p.img" "$size")
	m=$(CLEAN=$WORK/m.img best run_mke2fs "$tree" "$WORK/m.img" "$size")
	t=$(CLEAN=$WORK/t.tar best run_tar "$tree" "$WORK/t.tar")
	e2fsck -fn "$WORK/p.img" >/dev/null 2>&1 || echo "e2fsck: problems in $WORK/p.img"
	printf '%-10s %8ss %8ss %8ss   %5.2fx tar   %5.2fx faster than mke2fs   rss %s MiB\n' \
		"$name" "$p" "$m" "$t" "$(echo "$p / $t" | bc -l)" "$(echo "$m / $p" | bc -l)" \
		"$(rss "$tree" "$WORK/p.img" "$size")"
}

cached=$BENCH_CACHE/minbase-${MINBASE_SUITE:-bookworm}
if [ ! -d "$WORK/minbase" ]; then
	src=${MINBASE_SRC:-}
	if [ -n "$src" ] && [ "$src" != generated ]; then
		cp -a "$src" "$WORK/minbase"
	elif [ -z "$src" ] && [ -d "$cached" ]; then
		cp -a "$cached" "$WORK/minbase"
		echo "(minbase: debootstrap --variant=minbase ${MINBASE_SUITE:-bookworm}, cached in $cached)" >"$WORK/minbase.what"
	elif [ -z "$src" ] && [ "$(id -u)" = 0 ] && command -v debootstrap >/dev/null && mkdir -p "$BENCH_CACHE" &&
		debootstrap --variant=minbase "${MINBASE_SUITE:-bookworm}" "$cached.tmp" \
			"${MINBASE_MIRROR:-http://deb.debian.org/debian}" >"$BENCH_CACHE/debootstrap.log" 2>&1; then
		mv "$cached.tmp" "$cached"
		cp -a "$cached" "$WORK/minbase"
		echo "(minbase: debootstrap --variant=minbase ${MINBASE_SUITE:-bookworm}, cached in $cached)" >"$WORK/minbase.what"
	else
		rm -rf "$cached.tmp"
		rm -rf "$WORK/minbase.tmp"
		gen "$WORK/minbase" 7000 200000000
		echo "(minbase: generated by bench/ext4tree)" >"$WORK/minbase.what"
	fi
fi
[ -f "$WORK/minbase.what" ] && cat "$WORK/minbase.what"
echo "minbase: $(find "$WORK/minbase" | wc -l) entries, $(du -sm "$WORK/minbase" | cut -f1) MB"
if have_farm; then
	echo "purefs mkfs ext4 vs tar -cf and mke2fs -t ext4 -d (farm-bench, medians of $RUNS pairs, $(nproc) cores)"
else
	echo "purefs mkfs ext4 vs mke2fs -t ext4 -d vs tar -cf (best of $RUNS, $(nproc) cores)"
	printf '%-10s %9s %9s %9s\n' case purefs mke2fs tar
fi
if want minbase; then row minbase "$WORK/minbase"; fi

if want large && [ "${BENCH_LARGE:-0}" = 1 ]; then
	if [ -n "${LARGE_SRC:-}" ]; then large=$LARGE_SRC; else
		large=$BENCH_CACHE/large
		[ -d "$large" ] || { mkdir -p "$BENCH_CACHE" && gen "$large.tmp" 150000 5400000000 && mv "$large.tmp" "$large"; }
	fi
	row large "$large"
fi

want flat && echo && echo "one directory, N entries"
want flat && for n in 10000 20000 40000 100000 200000 500000; do
	d=$WORK/flat-$n
	[ -d "$d" ] || gen "$d" "$n" 0 flat
	p=$(CLEAN=$WORK/p.img best run_purefs "$d" "$WORK/p.img" 2G)
	e2fsck -fn "$WORK/p.img" >/dev/null 2>&1 || echo "e2fsck: problems in $WORK/p.img"
	if [ "$n" -le "${MKE2FS_FLAT_MAX:-40000}" ]; then
		rm -f "$WORK/m.img"
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
	if have_farm; then
		set -- $(farm "$PUREFS mkfs ext4 --size $size --root $x/minbase $x/p.img" "tar -C $x/minbase -cf $x/t.tar .")
		printf 'xfs        purefs %ss, tar %ss: %.2fx tar\n' "$1" "$2" "$3"
		set -- $(farm "$PUREFS mkfs ext4 --no-zero-scan --size $size --root $x/minbase $x/p.img" "tar -C $x/minbase -cf $x/t.tar .")
		printf 'xfs        purefs --no-zero-scan %ss, tar %ss: %.2fx tar\n' "$1" "$2" "$3"
		e2fsck -fn "$x/p.img" >/dev/null 2>&1 || echo "e2fsck: problems in $x/p.img"
	fi
	p=$(CLEAN=$x/p.img best run_purefs "$x/minbase" "$x/p.img" "$size")
	c=$(CLEAN=$x/p.img best run_purefs "$x/minbase" "$x/p.img" "$size" --no-zero-scan)
	t=$(CLEAN=$x/t.tar best run_tar "$x/minbase" "$x/t.tar")
	e2fsck -fn "$x/p.img" >/dev/null 2>&1 || echo "e2fsck: problems in $x/p.img"
	printf 'xfs        best of %s: purefs %ss (%.2fx tar), --no-zero-scan %ss (%.2fx tar), tar %ss\n' "$RUNS" \
		"$p" "$(echo "$p / $t" | bc -l)" "$c" "$(echo "$c / $t" | bc -l)" "$t"
	# The container step on the same XFS: the image above to qcow2.
	if command -v qemu-img >/dev/null; then
		conv_p() { "$PUREFS" convert -O qcow2 --no-zero-scan "$x/p.img" "$x/p.qcow2"; }
		conv_q() { qemu-img convert -O qcow2 "$x/p.img" "$x/q.qcow2"; }
		cp_=$(CLEAN=$x/p.qcow2 best conv_p)
		cq=$(CLEAN=$x/q.qcow2 best conv_q)
		qemu-img compare -q "$x/p.qcow2" "$x/q.qcow2" || echo "qemu-img compare: the two qcow2 images differ"
		printf 'xfs qcow2  purefs convert --no-zero-scan %ss, qemu-img convert %ss (%.1fx faster)\n' \
			"$cp_" "$cq" "$(echo "$cq / $cp_" | bc -l)"
	fi
fi
