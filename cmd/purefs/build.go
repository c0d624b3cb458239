package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/diskimage"
)

func init() { register("build", "build a disk image as nixpkgs' make-disk-image.nix does", buildMain) }

func buildMain(args []string) error {
	fl := flag.NewFlagSet("purefs build", flag.ContinueOnError)
	cfgPath := fl.String("config", "", "JSON file with make-disk-image.nix's argument names")
	out := fl.String("out", os.Getenv("out"), "output directory (default: $out)")
	quiet := fl.Bool("quiet", false, "no progress bar and no summary")
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), "usage: purefs build --config FILE.json --out DIR")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	switch {
	case fl.NArg() != 0:
		fl.Usage()
		return &exitError{code: 2, err: fmt.Errorf("unexpected argument %q", fl.Arg(0))}
	case *cfgPath == "":
		return &exitError{code: 2, err: fmt.Errorf("--config FILE.json is required")}
	case *out == "":
		return &exitError{code: 2, err: fmt.Errorf("--out DIR is required (or $out)")}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(os.Stderr, "%s\n", w)
	}
	tty := !*quiet && term.IsTerminal(int(os.Stderr.Fd()))
	var log io.Writer = os.Stdout
	if *quiet {
		log = io.Discard
	}
	opts := diskimage.BuildOptions{
		OutDir:          *out,
		SourceDateEpoch: os.Getenv("SOURCE_DATE_EPOCH"),
		Log:             log,
		Interrupt:       &diskimage.Interrupt{},
	}
	// SIGINT, SIGTERM and SIGHUP stop the build and remove what it has
	// written, unless it has reached its commit point: then it completes
	// and exits 0.
	handled := make(chan struct{}, 1)
	stopOnSignals("build", opts.Interrupt.Stop, "nothing written to "+*out, handled)
	opts.Hook = pauseHook(handled)
	start := time.Now()
	plan, err := diskimage.MakePlan(cfg, opts)
	if err != nil {
		return err
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(os.Stderr, "purefs build: warning: %s\n", w)
	}
	stop := func() {}
	if tty {
		opts.Progress = &diskimage.Progress{}
		stop = showProgress(opts.Progress)
	}
	err = diskimage.Build(plan, opts)
	stop()
	if err != nil && opts.Interrupt.Stopped() {
		select {} // the signal handler reports it and exits
	}
	if err != nil {
		return err
	}
	if !*quiet {
		// postVM may have moved the image away (proxmox-image.nix does).
		size := "moved by postVM"
		if fi, err := os.Stat(filepath.Join(*out, cfg.Filename())); err == nil {
			size = fmt.Sprintf("%d bytes", fi.Size())
		}
		fmt.Fprintf(os.Stderr, "purefs build: %s (%s, %s, disk %d bytes) in %.1fs\n",
			filepath.Join(*out, cfg.Filename()), cfg.Format, size, plan.Layout.DiskSize, time.Since(start).Seconds())
	}
	return nil
}

// pauseHook is the test hook of the output transaction: with
// PUREFS_TEST_PAUSE set to a comma-separated list of points ("staged",
// "before-commit", "between-renames", "after-commit"), the build says
// "purefs build: pause POINT" on standard error at each and waits for a
// signal (at most a minute), so that a test interrupts it exactly there.
func pauseHook(handled <-chan struct{}) func(string) {
	points := os.Getenv("PUREFS_TEST_PAUSE")
	if points == "" {
		return nil
	}
	return func(point string) {
		for _, p := range strings.Split(points, ",") {
			if p == point {
				fmt.Fprintf(os.Stderr, "purefs build: pause %s\n", point)
				select {
				case <-handled:
				case <-time.After(time.Minute):
				}
				return
			}
		}
	}
}

// showProgress draws a progress bar on standard error until stop is
// called.
func showProgress(p *diskimage.Progress) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(os.Stderr, "\r\033[K")
				return
			case <-t.C:
				n, total, phase := p.Sample()
				drawBar(os.Stderr, phase, n, total)
			}
		}
	}()
	return func() { close(done); <-finished }
}

func drawBar(w io.Writer, phase string, n, total int64) {
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = min(float64(n)/float64(total), 1)
	}
	filled := int(frac * width)
	bar := make([]byte, width)
	for i := range bar {
		if i < filled {
			bar[i] = '#'
		} else {
			bar[i] = '.'
		}
	}
	fmt.Fprintf(w, "\r\033[K%s [%s] %3.0f%% %s / %s", phase, bar, frac*100, human(n), human(total))
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
