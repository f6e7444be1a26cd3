package listener

import (
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"text/template"
	"time"

	"github.com/vernemq-go/vernemq/internal/testnode"
)

// haproxyBin finds haproxy, skipping the test when it is absent unless
// VMQ_REQUIRE_HAPROXY is set (CI), where absence is a failure.
func haproxyBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy"
	}
	msg := "haproxy binary not found: run `bash scripts/install-haproxy.sh`"
	if os.Getenv("VMQ_REQUIRE_HAPROXY") != "" {
		t.Fatal(msg + " (VMQ_REQUIRE_HAPROXY is set, so this is a failure)")
	}
	t.Skip(msg + " (set VMQ_REQUIRE_HAPROXY=1 to fail instead of skipping)")
	return ""
}

type haproxyEnv struct {
	V2Addr, V1Addr, TLSAddr string
	Backend                 string
	CrtFile, CAFile         string
}

// startHAProxy renders scripts/haproxy/listener-test.cfg.tmpl and runs haproxy
// in the foreground until the test ends.
func startHAProxy(t *testing.T, bin string, env haproxyEnv) {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("..", "..", "scripts", "haproxy", "listener-test.cfg.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	f, err := os.Create(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tmpl.Execute(f, env); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy rejected the generated config: %v\n%s", err, out)
	}
	// Every frontend must accept; a bare connect on the TLS port sends nothing to the backend.
	p := testnode.Start(t, "", nil, bin, "-db", "-f", cfg)
	for _, a := range []string{env.V2Addr, env.V1Addr, env.TLSAddr} {
		p.WaitTCP(a, 10*time.Second)
	}
}

// peerFrom waits for the Peer whose Addr is want, ignoring readiness probes.
func peerFrom(t *testing.T, rec *recorder, want net.Addr) Peer {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for i := 0; i < 50; i++ {
		select {
		case p := <-rec.peers:
			if p.Addr.String() == want.String() {
				return p
			}
		case <-deadline:
			t.Fatalf("no connection with Peer.Addr %v arrived through haproxy within 5s", want)
		}
	}
	t.Fatalf("no connection with Peer.Addr %v among 50 arrivals", want)
	return Peer{}
}

func TestHAProxySendsProxyProtocol(t *testing.T) {
	bin := haproxyBin(t)
	p := newPKI(t)
	l, rec := start(t, Options{Type: "tcp", ProxyProtocol: true, ProxyProtocolUseCNAsUsername: true})

	crt := filepath.Join(p.dir, "haproxy-server.pem")
	if err := p.server.WriteBundle(crt); err != nil {
		t.Fatal(err)
	}
	env := haproxyEnv{
		V2Addr: freeAddr(t), V1Addr: freeAddr(t), TLSAddr: freeAddr(t),
		Backend: l.Addr().String(), CrtFile: crt, CAFile: p.caFile,
	}
	startHAProxy(t, bin, env)

	for _, tc := range []struct{ name, addr string }{
		{"send-proxy-v2", env.V2Addr},
		{"send-proxy (v1)", env.V1Addr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", tc.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			echo(t, c, "\x10\x0c\x00\x04MQTT via haproxy")
			peer := peerFrom(t, rec, c.LocalAddr())
			if peer.Local.String() != tc.addr {
				t.Errorf("Peer.Local = %v, want haproxy frontend %s (PROXY destination)", peer.Local, tc.addr)
			}
			if peer.CN != "" {
				t.Errorf("CN %q without TLS", peer.CN)
			}
		})
	}

	t.Run("send-proxy-v2-ssl-cn", func(t *testing.T) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", env.TLSAddr, p.clientTLS(&p.client))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		echo(t, c, "mqtt over haproxy tls")
		peer := peerFrom(t, rec, c.LocalAddr())
		if peer.CN != "device-42" || !peer.CNAsUsername {
			t.Fatalf("peer = %+v, want CN device-42 forwarded by haproxy", peer)
		}
	})

	t.Run("haproxy rejects unknown client CA", func(t *testing.T) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", env.TLSAddr, p.clientTLS(&p.stranger))
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Write([]byte("x"))
			if err == nil {
				_, err = c.Read(make([]byte, 1))
			}
			c.Close()
		}
		if err == nil {
			t.Fatal("haproxy let a client with an unknown CA through")
		}
	})
	if s := l.Stats(); s.ProxyErrors != 0 {
		t.Errorf("ProxyErrors = %d, want 0 (haproxy probes and clients all send valid headers)", s.ProxyErrors)
	}
}
