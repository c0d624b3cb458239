package main

func init() { register("vm", "run a command in QEMU on an image", vmMain) }

func vmMain(args []string) error { return errNotImplemented }
