package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// stopOnSignals makes SIGINT, SIGTERM and SIGHUP (SIGHUP only if it is
// not ignored, as under nohup) call stop, which undoes what the command
// has written unless it has reached its commit point. When stop reports
// true, the command says so (what: "nothing written to OUT") and exits
// with 128 + the signal's number; otherwise (the commit has begun) the
// command completes and exits 0, and a note goes to handled (nil: none).
// The handling lasts until the process exits, so that no signal between
// the commit and the exit kills it.
func stopOnSignals(command string, stop func() bool, what string, handled chan<- struct{}) {
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		for s := range ch {
			if stop() {
				fmt.Fprintf(os.Stderr, "\npurefs %s: interrupted by %v; %s\n", command, s, what)
				os.Exit(128 + int(s.(syscall.Signal)))
			}
			select {
			case handled <- struct{}{}:
			default:
			}
		}
	}()
}
