package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/diskimage"
)

func init() { register("build", "build a disk image from a make-disk-image config", buildMain) }

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
	tty := !*quiet && term.IsTerminal(int(os.Stderr.Fd()))
	var log io.Writer = os.Stdout
	if *quiet {
		log = io.Discard
	}
	opts := diskimage.BuildOptions{
		OutDir:          *out,
		SourceDateEpoch: os.Getenv("SOURCE_DATE_EPOCH"),
		Log:             log,
		Temps:           &diskimage.Temps{},
	}
	start := time.Now()
	plan, err := diskimage.MakePlan(cfg, opts)
	if err != nil {
		return err
	}
	// SIGINT and SIGTERM remove what the build has written so far.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		opts.Temps.RemoveAll()
		fmt.Fprintf(os.Stderr, "\npurefs build: interrupted by %v; nothing written to %s\n", s, *out)
		os.Exit(130)
	}()
	stop := func() {}
	if tty {
		opts.Progress = &diskimage.Progress{}
		stop = showProgress(opts.Progress)
	}
	err = diskimage.Build(plan, opts)
	stop()
	if err != nil {
		return err
	}
	if !*quiet {
		fi, _ := os.Stat(*out + "/" + cfg.Filename())
		var size int64
		if fi != nil {
			size = fi.Size()
		}
		fmt.Fprintf(os.Stderr, "purefs build: %s/%s (%s, %d bytes, disk %d bytes) in %.1fs\n",
			*out, cfg.Filename(), cfg.Format, size, plan.Layout.DiskSize, time.Since(start).Seconds())
	}
	return nil
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
