package main

func init() { register("diff", "explain where two images differ", diffMain) }

func diffMain(args []string) error { return errNotImplemented }
