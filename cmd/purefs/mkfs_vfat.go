package main

func init() { register("mkfs vfat", "write a FAT file system from a tree", mkfsVfatMain) }

func mkfsVfatMain(args []string) error { return errNotImplemented }
