// Command mochi-peer runs mochi-mqtt as a benchmark peer: TCP (and optional TLS)
// listeners from flags, every client and topic allowed, no storage hook.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

func main() {
	tcpAddr := flag.String("tcp", "127.0.0.1:1883", "TCP listener address")
	tlsAddr := flag.String("tls", "", "TLS listener address (needs -cert and -key)")
	cert := flag.String("cert", "", "PEM server certificate for -tls")
	key := flag.String("key", "", "PEM server key for -tls")
	flag.Parse()
	if err := run(*tcpAddr, *tlsAddr, *cert, *key); err != nil {
		fmt.Fprintln(os.Stderr, "mochi-peer:", err)
		os.Exit(1)
	}
}

func run(tcpAddr, tlsAddr, cert, key string) error {
	// Warnings only: per-client info logs would cost CPU the benchmark charges to mochi.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s := mqtt.New(&mqtt.Options{InlineClient: false, Logger: log})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		return err
	}
	if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: tcpAddr})); err != nil {
		return fmt.Errorf("listen %s: %w", tcpAddr, err)
	}
	if tlsAddr != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("load -cert/-key: %w", err)
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "tls", Address: tlsAddr, TLSConfig: cfg})); err != nil {
			return fmt.Errorf("listen %s: %w", tlsAddr, err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	if err := s.Serve(); err != nil {
		return err
	}
	<-sig
	return s.Close()
}
