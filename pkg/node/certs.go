package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/listener"
)

// certSweep is how often the TLS files are checked for a change: Erlang's PEM cache,
// through which VerneMQ's listeners read them, is swept every 2 minutes, so rotated
// certificates (cert-manager, certbot) and a fresh CRL take effect without a signal.
const certSweep = 2 * time.Minute

// tlsFiles is the certificate files of an https or vmqs listener, read again when they change.
type tlsFiles struct {
	cfg config.Listener
	kp  *listener.KeyPair
}

// ReloadCerts re-reads certfile, keyfile, cafile and crlfile of every ssl and wss
// listener, certfile and keyfile of every https listener and those and cafile of the
// vmqs cluster listener (SIGHUP). New handshakes use the new files, established
// connections keep theirs; a listener whose files fail to load keeps its old
// ones and its error is returned (joined with the others).
func (n *Node) ReloadCerts() error {
	return n.reloadCerts(false)
}

// reloadChangedCerts reloads the listeners whose TLS files changed since they were read.
func (n *Node) reloadChangedCerts() error { return n.reloadCerts(true) }

func (n *Node) reloadCerts(onlyChanged bool) error {
	n.mu.Lock()
	ls := make([]*mqttListener, 0, len(n.listeners))
	for _, ml := range n.listeners {
		if (ml.cfg.Type == listener.TypeSSL || ml.cfg.Type == listener.TypeWSS) && (!onlyChanged || ml.l.CertsChanged()) {
			ls = append(ls, ml)
		}
	}
	n.mu.Unlock()
	var pairs []tlsFiles // https and vmqs listeners
	if web := n.web.Load(); web != nil {
		for _, l := range web.httpsListeners() {
			pairs = append(pairs, tlsFiles{l.cfg, l.kp})
		}
	}
	if f := n.clusterTLS.Load(); f != nil {
		pairs = append(pairs, *f)
	}
	pairs = slices.DeleteFunc(pairs, func(f tlsFiles) bool { return onlyChanged && !f.kp.Changed() })
	var errs []error
	reloaded := func(cfg config.Listener, err error) {
		if err != nil {
			n.Log.Error("certificate reload failed; the listener keeps its previous certificates",
				"type", cfg.Type, "name", cfg.Name, "error", err)
			errs = append(errs, err)
			return
		}
		n.Log.Info("certificates reloaded", "type", cfg.Type, "name", cfg.Name,
			"certfile", cfg.CertFile, "cafile", cfg.CAFile, "crlfile", cfg.CRLFile)
	}
	for _, ml := range ls {
		reloaded(ml.cfg, ml.l.ReloadCerts())
	}
	for _, f := range pairs {
		err := f.kp.Reload()
		if err != nil {
			err = fmt.Errorf("listener %s/%s: %w", f.cfg.Type, f.cfg.Name, err)
		}
		reloaded(f.cfg, err)
	}
	if len(ls)+len(pairs) == 0 && !onlyChanged {
		n.Log.Info("certificate reload: no ssl, wss, https or vmqs listener configured")
	}
	return errors.Join(errs...)
}

// sweepCerts reloads changed TLS files every certSweep until ctx ends. A file that fails
// to load is tried again, and logged, at each sweep until it is fixed. The files are
// stat'ed under n.mu, which only the admin commands and a stop take, never a client.
func (n *Node) sweepCerts(ctx context.Context) {
	t := time.NewTicker(certSweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = n.reloadChangedCerts() // each failure is logged
		}
	}
}
