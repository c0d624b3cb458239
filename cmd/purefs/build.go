package main

func init() { register("build", "build a disk image from a make-disk-image config", buildMain) }

func buildMain(args []string) error { return errNotImplemented }
