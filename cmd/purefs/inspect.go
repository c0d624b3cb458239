package main

func init() {
	register("inspect", "show the container, partition table and file systems of an image", inspectMain)
}

func inspectMain(args []string) error { return errNotImplemented }
