package node

import (
	"errors"

	"github.com/vernemq-go/vernemq/pkg/listener"
)

// ReloadCerts re-reads certfile, keyfile, cafile and crlfile of every ssl and
// wss listener (SIGHUP). New handshakes use the new files, established
// connections keep theirs; a listener whose files fail to load keeps its old
// ones and its error is returned (joined with the others).
func (n *Node) ReloadCerts() error {
	n.mu.Lock()
	ls := make([]*mqttListener, 0, len(n.listeners))
	for _, ml := range n.listeners {
		if ml.cfg.Type == listener.TypeSSL || ml.cfg.Type == listener.TypeWSS {
			ls = append(ls, ml)
		}
	}
	n.mu.Unlock()
	var errs []error
	for _, ml := range ls {
		if err := ml.l.ReloadCerts(); err != nil {
			n.Log.Error("certificate reload failed; the listener keeps its previous certificates",
				"type", ml.cfg.Type, "name", ml.cfg.Name, "error", err)
			errs = append(errs, err)
			continue
		}
		n.Log.Info("certificates reloaded", "type", ml.cfg.Type, "name", ml.cfg.Name,
			"certfile", ml.cfg.CertFile, "cafile", ml.cfg.CAFile, "crlfile", ml.cfg.CRLFile)
	}
	if len(ls) == 0 {
		n.Log.Info("certificate reload: no ssl or wss listener configured")
	}
	return errors.Join(errs...)
}
