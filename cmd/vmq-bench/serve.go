package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/gcfloor"
	"github.com/vernemq-go/vernemq/pkg/node"
)

// serveCmd runs this broker in-process with CPU and allocation profiles, since the
// vernemq binary exposes no pprof endpoint: `vmq-bench serve -c FILE -cpuprofile F -memprofile F`;
// -stats ADDR serves its heap allocation counters (scenario 15).
func serveCmd(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	conf := fs.String("c", "", "vernemq.conf to run")
	cpu := fs.String("cpuprofile", "", "write a CPU profile here until SIGTERM")
	mem := fs.String("memprofile", "", "write an allocation profile here at SIGTERM")
	stats := fs.String("stats", "", "serve the process's heap allocation counters as JSON on this loopback address (scenario 15)")
	_ = fs.Parse(args)
	cfg, _, err := config.Load(*conf, os.Environ())
	if err != nil {
		return fmt.Errorf("conf %s: %w", *conf, err)
	}
	n, err := node.New(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	if t := gcfloor.Start(uint64(cfg.Bytes("gc_heap_floor"))); t != nil {
		defer t.Stop() // profile what `vernemq console` runs
	}
	if *mem != "" {
		runtime.MemProfileRate = 64 << 10 // finer than the 512 KiB default, to see small per-message allocations
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *stats != "" {
		if err := serveStats(*stats); err != nil {
			return err
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	if err := n.Start(context.Background()); err != nil {
		return err
	}
	<-sigs
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = n.Stop(ctx)
	if *mem != "" {
		f, err := os.Create(*mem)
		if err != nil {
			return err
		}
		defer f.Close()
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}
	return nil
}
