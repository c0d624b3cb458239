package vm

// XchgTag is the 9p mount tag of the exchange directory through which the
// command goes in and its exit status comes out.
const XchgTag = "xchg"

// GuestInit is the /init of a busybox initramfs that keeps Run's guest
// protocol (see the package comment). The initramfs must hold a static
// busybox at /bin/busybox and may hold kernel modules in /lib/modules with
// their file names, one a line and in load order, in /lib/modules/load.
const GuestInit = `#!/bin/busybox sh
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run /mnt
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
if [ -f /lib/modules/load ]; then
	while read -r m; do
		[ -n "$m" ] && insmod "/lib/modules/$m" 2>/dev/null
	done </lib/modules/load
fi
mounted() { grep -q "^[^ ]* $1 " /proc/mounts; }
# Mount every 9p share at /TAG; wait up to 10 s for the exchange share.
i=0
while :; do
	for f in /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag; do
		[ -f "$f" ] || continue
		tag=$(tr -d '\000' <"$f")
		mounted "/$tag" && continue
		mkdir -p "/$tag"
		mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$tag" "/$tag" ||
			echo "purefs-vm: cannot mount 9p share $tag" >&2
	done
	mounted /xchg && break
	i=$((i + 1))
	if [ $i -ge 100 ]; then
		echo "purefs-vm: no 9p share with tag xchg" >&2
		poweroff -f
	fi
	sleep 0.1
done
echo "purefs-vm: running command"
cd /
sh /xchg/cmd </dev/null
echo $? >/xchg/status.tmp && mv /xchg/status.tmp /xchg/status
sync
umount -a -r 2>/dev/null
poweroff -f
`
