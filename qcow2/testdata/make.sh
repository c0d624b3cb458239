#!/bin/sh
# Regenerates the small qemu-made images (named .seed so that they are not
# taken for build output) that FuzzOpen and TestTestdata use
# (qemu-img and qemu-io 7.2; 512-byte clusters keep them a few KiB):
#   plain.qcow2.seed        data written by qemu-io, one cluster zeroed with write -z
#   deflate.qcow2.seed      the same disk through qemu-img convert -c
#   zstd.qcow2.seed         the same with -o compression_type=zstd
#   v2.qcow2.seed           the same as compat=0.10 (version 2)
# and disk.raw.gz, the disk they all hold (gzip -n, so it is reproducible).
set -eu
cd "$(dirname "$0")"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
qemu-img create -q -f qcow2 -o cluster_size=512 "$t/a.qcow2" 8K
qemu-io -f qcow2 -c 'write -P 0x61 0 1536' -c 'write -P 0x62 3000 700' -c 'write -z 512 512' -c 'write -P 0x63 7680 512' "$t/a.qcow2" >/dev/null
cp "$t/a.qcow2" plain.qcow2.seed
qemu-img convert -f qcow2 -O qcow2 -c -o cluster_size=512 "$t/a.qcow2" deflate.qcow2.seed
qemu-img convert -f qcow2 -O qcow2 -c -o cluster_size=512,compression_type=zstd "$t/a.qcow2" zstd.qcow2.seed
qemu-img convert -f qcow2 -O qcow2 -o cluster_size=512,compat=0.10 "$t/a.qcow2" v2.qcow2.seed
qemu-img convert -f qcow2 -O raw "$t/a.qcow2" "$t/disk.raw"
gzip -n -9 -c "$t/disk.raw" > disk.raw.gz
