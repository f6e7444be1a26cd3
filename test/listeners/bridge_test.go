package listeners

import (
	"regexp"
	"testing"
	"time"
)

// TestBridgeSSL: an ssl bridge (vmq_bridge.ssl.<name>) verifies the remote node with
// cafile, presents certfile/keyfile, and the remote takes its CN as username, so the ACL
// lets the bridge write under devices/device-42/. A bridge trusting another CA never connects.
func TestBridgeSSL(t *testing.T) {
	t.Parallel()
	r := startNode(t, deviceACL, sslConf(t, certs.CAFile, certs.ServerCert, certs.ServerKey, certs.CRLFile))
	ssl := r.addr("listener.ssl.default")
	watcher := mustV5(t, r.addr("listener.tcp.default"), "watcher")
	watcher.subscribe(t, "devices/#")

	dev := certs.client("device-42")
	l := startNode(t, "topic #\n", map[string]string{
		"plugins.vmq_bridge":                 "on",
		"vmq_bridge.ssl.br0":                 ssl,
		"vmq_bridge.ssl.br0.cafile":          certs.CAFile,
		"vmq_bridge.ssl.br0.certfile":        dev.CertFile,
		"vmq_bridge.ssl.br0.keyfile":         dev.KeyFile,
		"vmq_bridge.ssl.br0.mqtt_version":    "5",
		"vmq_bridge.ssl.br0.restart_timeout": "1",
		"vmq_bridge.ssl.br0.topic.1":         "temp out 1 $empty devices/device-42/",
		"vmq_bridge.ssl.bad":                 ssl,
		"vmq_bridge.ssl.bad.cafile":          certs.CA2File,
		"vmq_bridge.ssl.bad.certfile":        dev.CertFile,
		"vmq_bridge.ssl.bad.keyfile":         dev.KeyFile,
		"vmq_bridge.ssl.bad.restart_timeout": "1",
		"vmq_bridge.ssl.bad.topic.1":         "temp out 1",
	})
	l.waitLog(regexp.MustCompile(`msg="bridge connected" bridge=br0`), 10*time.Second)
	l.waitLog(regexp.MustCompile(`msg="bridge can't connect to the remote broker" bridge=bad .*certificate`), 10*time.Second)
	pub := mustV5(t, l.addr("listener.tcp.default"), "pub")
	if rc := pub.publish(t, "temp", "21.5"); rc != 0 {
		t.Fatalf("publish: 0x%02x", rc)
	}
	watcher.expect(t, "devices/device-42/temp", "21.5", 10*time.Second)
}
