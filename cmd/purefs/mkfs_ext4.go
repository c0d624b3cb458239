package main

func init() { register("mkfs ext4", "write an ext4 file system from a tree", mkfsExt4Main) }

func mkfsExt4Main(args []string) error { return errNotImplemented }
