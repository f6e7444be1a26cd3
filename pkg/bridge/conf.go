package bridge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vernemq-go/vernemq/pkg/config"
)

// Config is one bridge: vmq_bridge.tcp.<name> or vmq_bridge.ssl.<name> and its options.
type Config struct {
	Name           string
	Type           string // tcp or ssl
	Addr           string // host:port of the remote broker
	Topics         []config.BridgeTopic
	CleanSession   bool
	ClientID       string
	KeepAlive      time.Duration
	Username       *string
	Password       *string
	RestartTimeout time.Duration // first reconnect delay; doubles up to 8 times this
	TryPrivate     bool
	MQTTVersion    int // 3, 4 or 5
	Mountpoint     string
	MaxBuffered    int // max_outgoing_buffered_messages; 0 = drop while the remote is away
	Persistent     bool
	QueueDir       string
	SegmentSize    int64
	BatchSize      int
	Network        string      // tcp4 or tcp6 (inet_version)
	TLS            *tls.Config // ssl bridges only
}

// Endpoint is host:port as vmq-admin bridge show prints it.
func (c *Config) Endpoint() string { return c.Addr }

// FromConfig reads every vmq_bridge.tcp.<name> and vmq_bridge.ssl.<name> of cfg, sorted by name.
func FromConfig(cfg *config.Config) ([]Config, error) {
	var out []Config
	var errs []error
	for _, typ := range []string{"tcp", "ssl"} {
		prefix := "vmq_bridge." + typ + "."
		set := cfg.Prefix(prefix)
		var names []string
		for k := range set {
			if !strings.Contains(k, ".") {
				names = append(names, k)
			}
		}
		// Options without the endpoint line are a mistake VerneMQ ignores silently; say so.
		for k := range set {
			if name, _, ok := strings.Cut(k, "."); ok && !slices.Contains(names, name) {
				errs = append(errs, fmt.Errorf("%s%s is set but %s%s = host:port is missing", prefix, k, prefix, name))
			}
		}
		slices.Sort(names)
		for _, name := range names {
			c, err := one(cfg, typ, name, set)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Config) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			errs = append(errs, fmt.Errorf("bridge %s is defined as both vmq_bridge.tcp.%s and vmq_bridge.ssl.%s", out[i].Name, out[i].Name, out[i].Name))
		}
	}
	return out, errors.Join(errs...)
}

func one(cfg *config.Config, typ, name string, set map[string]string) (Config, error) {
	k := func(opt string) string { return "vmq_bridge." + typ + "." + name + "." + opt }
	c := Config{
		Name: name, Type: typ, Addr: set[name],
		CleanSession:   cfg.Bool(k("cleansession")),
		ClientID:       cfg.String(k("client_id")),
		KeepAlive:      time.Duration(cfg.Int(k("keepalive_interval"))) * time.Second,
		RestartTimeout: time.Duration(cfg.Int(k("restart_timeout"))) * time.Second,
		TryPrivate:     cfg.Bool(k("try_private")),
		Mountpoint:     cfg.String(k("mountpoint")),
		MaxBuffered:    int(cfg.Int(k("max_outgoing_buffered_messages"))),
		Persistent:     cfg.Bool(k("persistent_queue")),
		QueueDir:       cfg.String(k("queue_dir")),
		SegmentSize:    cfg.Bytes(k("segment_size")),
		BatchSize:      int(cfg.Int(k("outgoing_batch_size"))),
		Network:        "tcp4",
	}
	c.MQTTVersion, _ = strconv.Atoi(cfg.String(k("mqtt_version")))
	if cfg.String(k("inet_version")) == "inet6" {
		c.Network = "tcp6"
	}
	if c.ClientID == "auto" {
		host, _ := os.Hostname()
		c.ClientID = host + "." + name // VerneMQ's default
	}
	if v, ok := set[name+".username"]; ok {
		c.Username = &v
	}
	if v, ok := set[name+".password"]; ok {
		c.Password = &v
	}
	if c.QueueDir == "" {
		c.QueueDir = filepath.Join(cfg.String("platform_data_dir"), "vmq_bridge", name)
	}
	var ids []int
	for key := range set {
		if id, ok := strings.CutPrefix(key, name+".topic."); ok {
			n, err := strconv.Atoi(id)
			if err != nil {
				return c, fmt.Errorf("vmq_bridge.%s.%s.topic.%s: topic ids are numbers (topic.1, topic.2, ...)", typ, name, id)
			}
			ids = append(ids, n)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		t, err := config.ParseBridgeTopic(set[name+".topic."+strconv.Itoa(id)])
		if err != nil {
			return c, fmt.Errorf("vmq_bridge.%s.%s.topic.%d: %w", typ, name, id, err)
		}
		c.Topics = append(c.Topics, t)
	}
	if typ == "ssl" {
		t, err := tlsConfig(cfg, k, c.Addr)
		if err != nil {
			return c, fmt.Errorf("bridge %s: %w", name, err)
		}
		c.TLS = t
	}
	return c, nil
}

var tlsVersions = map[string]uint16{"tlsv1": tls.VersionTLS10, "tlsv1.1": tls.VersionTLS11,
	"tlsv1.2": tls.VersionTLS12, "tlsv1.3": tls.VersionTLS13}

// tlsConfig builds the client TLS settings of an ssl bridge: trusted roots from cafile
// and capath, a client certificate, the exact tls_version, sni, and depth (intermediate
// certificates allowed between the remote's certificate and a trusted root).
func tlsConfig(cfg *config.Config, k func(string) string, addr string) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(addr) // validated by the conf schema
	v := tlsVersions[cfg.String(k("tls_version"))]
	t := &tls.Config{MinVersion: v, MaxVersion: v, ServerName: host}
	if sni := cfg.String(k("sni")); sni != "" {
		t.ServerName = sni
	}
	if cfg.Bool(k("insecure")) {
		t.InsecureSkipVerify = true
	}
	cafile, capath := cfg.String(k("cafile")), cfg.String(k("capath"))
	if cafile != "" || capath != "" {
		pool := x509.NewCertPool()
		files := []string{}
		if cafile != "" {
			files = append(files, cafile)
		}
		if capath != "" {
			ents, err := os.ReadDir(capath)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k("capath"), err)
			}
			for _, e := range ents {
				if !e.IsDir() {
					files = append(files, filepath.Join(capath, e.Name()))
				}
			}
		}
		for _, f := range files {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k("cafile"), err)
			}
			if !pool.AppendCertsFromPEM(pem) && f == cafile {
				return nil, fmt.Errorf("%s: %s holds no PEM certificate", k("cafile"), f)
			}
		}
		t.RootCAs = pool
	}
	certfile, keyfile := cfg.String(k("certfile")), cfg.String(k("keyfile"))
	if certfile != "" || keyfile != "" {
		if certfile == "" || keyfile == "" {
			return nil, fmt.Errorf("%s and %s go together", k("certfile"), k("keyfile"))
		}
		cert, err := tls.LoadX509KeyPair(certfile, keyfile)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", k("certfile"), k("keyfile"), err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	if depth := int(cfg.Int(k("depth"))); !t.InsecureSkipVerify {
		t.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
			for _, ch := range chains {
				if len(ch)-2 <= depth { // the remote's certificate and the root are not counted
					return nil
				}
			}
			return fmt.Errorf("certificate chain longer than depth %d", depth)
		}
	}
	return t, nil
}
