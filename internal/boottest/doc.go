// Package boottest holds what purefs's boot tests share: Debian packages
// (kernel, systemd-boot, busybox-static, extlinux, libc6, OVMF when not
// installed) fetched with apt-get download and unpacked with dpkg-deb -x
// into a cache directory, Debian trees made by debootstrap (Debootstrap,
// NeedTree: cached too, and used as oracles, e.g. trixie's parted 3.6), and test images made with the standard tools
// (sgdisk, sfdisk, mkfs.vfat, mcopy, mkfs.ext4, debugfs) until purefs
// build writes them.
//
// Boot tests run only with PUREFS_BOOT_TESTS=1 (see Need).
package boottest
