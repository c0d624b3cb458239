#!/bin/sh
# Regenerates the small qemu-made images that TestQemuTestdata and
# FuzzOpen read (qemu-img 7.2; gzip -n so that the .gz files are
# reproducible, though qemu writes a random CID into each image):
#   disk.raw.gz                the 320 KiB disk: bytes in grains 0, 1 and 4
#   qemu-sparse.vmdk.gz        qemu-img convert -O vmdk (monolithicSparse)
#   qemu-stream.vmdk.gz        qemu-img convert -O vmdk -o subformat=streamOptimized
#                              (version 3, grain directory in the header)
#   qemu-lsilogic6.vmdk.gz     -o adapter_type=lsilogic,compat6
set -eu
cd "$(dirname "$0")"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
truncate -s 320K "$t/disk.raw"
printf 'purefs vmdk test disk\n' | dd of="$t/disk.raw" conv=notrunc status=none
seq 1 2000 | dd of="$t/disk.raw" bs=1 seek=60000 conv=notrunc status=none
printf 'tail\n' | dd of="$t/disk.raw" bs=1 seek=$((320*1024-5)) conv=notrunc status=none
qemu-img convert -f raw -O vmdk "$t/disk.raw" "$t/qemu-sparse.vmdk"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$t/disk.raw" "$t/qemu-stream.vmdk"
qemu-img convert -f raw -O vmdk -o adapter_type=lsilogic,compat6 "$t/disk.raw" "$t/qemu-lsilogic6.vmdk"
for f in disk.raw qemu-sparse.vmdk qemu-stream.vmdk qemu-lsilogic6.vmdk; do
	gzip -n -9 -c "$t/$f" > "$f.gz"
done
