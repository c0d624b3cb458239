// Package ova writes and reads Open Virtual Appliances: the single-file
// form of an OVF 1.0 package, a tar archive of the descriptor, the disk
// and a manifest, in the shape `VBoxManage export --options manifest`
// writes it, which is how nixpkgs' virtualbox-image.nix makes its .ova.
//
// Write makes a ustar archive of three members, each owned by 0:0, mode
// 0644, with Options.ModTime as modification time (never the clock):
//
//  1. Base.ovf, the OVF 1.0 descriptor: References (the disk file and its
//     size), DiskSection (its capacity, format streamOptimized, and the
//     disk's UUID as vbox:uuid), NetworkSection (NAT), and one
//     VirtualSystem named Options.Name with its OperatingSystemSection
//     (the CIM OS ID and VirtualBox's OS type) and VirtualHardwareSection:
//     CPUs, memory, a SATA (AHCI) or IDE (PIIX4) controller, the disk on
//     it, and a network adapter on NAT (virtio by default, as
//     virtualbox-image.nix sets nictype1). VirtualBox's optional
//     vbox:Machine extension is not written: VirtualBox builds the machine
//     from the hardware items on import.
//  2. Base-disk001.vmdk, the disk as a streamOptimized VMDK (package
//     vmdk), written first to a temporary file beside the output, since the
//     descriptor before it records its size.
//  3. Base.mf, the manifest: `SHA256(Base.ovf)= hex` and
//     `SHA256(Base-disk001.vmdk)= hex`, the form `sha256sum -c` accepts.
//
// The member order is VirtualBox's (the manifest last), not the order
// OVF 1.0 recommends (manifest second); importers read either.
//
// Open reads an OVA without extracting it: it walks the tar headers
// (seeking over member data), parses the descriptor (the first member,
// at most 16 MiB), finds the first disk's file and opens it as a VMDK in
// place. Compressed or chunked disk files, sparse tar members and disks
// in other formats are refused (ErrUnsupported); a descriptor that does
// not match the archive or the disk is ErrCorrupt.
package ova
