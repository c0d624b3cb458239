package main

func init() { register("convert", "convert a disk image between raw, qcow2, vdi and vpc", convertMain) }

func convertMain(args []string) error { return errNotImplemented }
