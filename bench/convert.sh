#!/usr/bin/env bash
# Benchmark: `purefs convert` against `qemu-img convert`, side by side, on
# a 1 GiB raw ext4 image holding about 200 MB of generated files
# (bench/convertgen: text, machine-code-like binaries and incompressible
# data; the same bytes on every machine).
#
#   bench/convert.sh [ROWS...]        e.g. bench/convert.sh qcow2 qcow2-compressed
#
# Environment: BENCH_DIR (work directory, default /tmp/purefs-bench-convert),
# BENCH_RUNS (timed runs per tool and row, default 3; the best is kept),
# BENCH_MB (megabytes of files, default 200), BENCH_TREE (a real directory
# tree instead of the generated files, e.g. /usr/lib/x86_64-linux-gnu: the
# 1 GiB image is then made by purefs mkfs ext4 from it), PUREFS (a purefs
# binary to use instead of building ./cmd/purefs).
#
# Each row converts the same input with both tools, alternating runs, and
# prints the best wall time of each, the speed-up (peer time / purefs
# time), the best CPU time (user + system) of each and the output sizes.
# purefs convert syncs its output before renaming it into place, so every
# peer's output is synced too (`sync OUT` after it: qemu-img convert's
# default cache mode does not flush the data). To add a row, add a line
# to ROWS: name, purefs convert arguments, qemu-img convert arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

ROWS=(
  "qcow2|-O qcow2|-O qcow2"
  "qcow2-compressed|-O qcow2-compressed|-O qcow2 -c"
  "qcow2-zstd|-O qcow2-compressed -o compression_type=zstd|-O qcow2 -c -o compression_type=zstd"
  "vdi|-O vdi|-O vdi"
  "vpc|-O vpc|-O vpc"
  "vhdx|-O vhdx|-O vhdx -o subformat=dynamic"
  "gce|-O gce|sh:tar -Sc -C DIR disk.raw | gzip -6 > OUT"
  "raw-gzip|-O raw-gzip|sh:gzip -6 -c IMG > OUT"
  "raw-zstd|-O raw-zstd|sh:zstd -q -T2 -c IMG > OUT"
  "vmdk|-O vmdk|-O vmdk"
  "vmdk-stream|-O vmdk -o subformat=streamOptimized|-O vmdk -o subformat=streamOptimized"
)

dir=${BENCH_DIR:-/tmp/purefs-bench-convert}
runs=${BENCH_RUNS:-3}
mb=${BENCH_MB:-200}
mkdir -p "$dir"
purefs=${PUREFS:-$dir/purefs}
[ -n "${PUREFS:-}" ] || go build -o "$purefs" ./cmd/purefs

img=$dir/ext4-$mb.raw
if [ -n "${BENCH_TREE:-}" ]; then
  img=$dir/ext4-tree-$(printf '%s' "$BENCH_TREE" | tr -c 'A-Za-z0-9' _).raw
  if [ ! -e "$img" ]; then
    "$purefs" mkfs ext4 --root "$BENCH_TREE" --size 1G --epoch 1 --owner 0:0 "$img.tmp"
    mv "$img.tmp" "$img"
  fi
fi
if [ ! -e "$img" ]; then
  rm -rf "$dir/tree"
  go run ./bench/convertgen "$dir/tree" "$mb"
  truncate -s 1G "$img.tmp"
  mkfs.ext4 -q -F -d "$dir/tree" -U 5f0c9b3e-6d64-4d1a-9d3e-1f2a3b4c5d6e \
    -E root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0 "$img.tmp"
  mv "$img.tmp" "$img"
  rm -rf "$dir/tree"
fi
cat "$img" >/dev/null # both tools read from the page cache
ln -f "$img" "$dir/disk.raw" # the name the GCE tarball's member has

# timed CMD...: run CMD, print "wall cpu" seconds (cpu = user + system).
timed() {
  /usr/bin/time -f '%e %U %S' -o "$dir/time" "$@"
  awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$dir/time"
}
best() { printf '%s\n' "$@" | sort -g | head -1; }

printf '%-18s %9s %9s %8s %9s %9s %13s %13s %10s\n' row purefs_s peer_s speedup purefs_cpu peer_cpu purefs_bytes peer_bytes size_ratio
for row in "${ROWS[@]}"; do
  IFS='|' read -r name pargs qargs <<<"$row"
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  pw=() qw=() pc=() qc=()
  for _ in $(seq "$runs"); do
    rm -f "$dir/out.p" "$dir/out.q"
    read -r w c < <(timed "$purefs" convert $pargs "$img" "$dir/out.p"); pw+=("$w") pc+=("$c")
    if [[ $qargs == sh:* ]]; then
      peer=${qargs#sh:}; peer=${peer//IMG/$img}; peer=${peer//DIR/$dir}; peer=${peer//OUT/$dir/out.q}
      read -r w c < <(timed sh -c "$peer && sync $dir/out.q"); qw+=("$w") qc+=("$c")
    else
      read -r w c < <(timed sh -c "qemu-img convert -f raw $qargs $img $dir/out.q && sync $dir/out.q"); qw+=("$w") qc+=("$c")
    fi
  done
  ps=$(stat -c %s "$dir/out.p") qs=$(stat -c %s "$dir/out.q")
  fmt=${qargs#-O }; fmt=${fmt%% *}
  case $name in
  gce)
    rm -rf "$dir/x"; mkdir "$dir/x"; tar --sparse -xzf "$dir/out.p" -C "$dir/x"
    cmp -s "$img" "$dir/x/disk.raw" || { echo "$name: purefs output differs from the input" >&2; exit 1; }
    rm -rf "$dir/x" ;;
  raw-gzip) gzip -dc "$dir/out.p" | cmp -s "$img" - || { echo "$name: purefs output differs from the input" >&2; exit 1; } ;;
  raw-zstd) zstd -q -dc "$dir/out.p" | cmp -s "$img" - || { echo "$name: purefs output differs from the input" >&2; exit 1; } ;;
  *)
    qemu-img compare -q -f raw -F "$fmt" "$img" "$dir/out.p" || { echo "$name: purefs output differs from the input" >&2; exit 1; }
    case $fmt in qcow2|vdi|vhdx|vmdk) qemu-img check -q -f "$fmt" "$dir/out.p" || { echo "$name: qemu-img check fails on purefs output" >&2; exit 1; } ;; esac ;;
  esac
  p=$(best "${pw[@]}") q=$(best "${qw[@]}")
  printf '%-18s %9.2f %9.2f %7.2fx %9.2f %9.2f %13d %13d %10.4f\n' "$name" "$p" "$q" "$(echo "$q / $p" | bc -l)" \
    "$(best "${pc[@]}")" "$(best "${qc[@]}")" "$ps" "$qs" "$(echo "$ps / $qs" | bc -l)"
done
rm -f "$dir/out.p" "$dir/out.q" "$dir/time" "$dir/disk.raw"
