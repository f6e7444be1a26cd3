package listener

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto/tlvparse"
)

// FuzzProxyHeader feeds arbitrary bytes to the PROXY header path of a proxy_protocol
// listener: nothing panics or hangs, and a CN it accepts is one a user name may be
// (no NUL, valid UTF-8), taken only from a presented and verified certificate.
func FuzzProxyHeader(f *testing.F) {
	for _, h := range [][]byte{
		headerBytes(f, proxyHeader(f, 1, "203.0.113.7:40001", "", false)),
		headerBytes(f, proxyHeader(f, 2, "203.0.113.8:40003", "", false)),
		headerBytes(f, proxyHeader(f, 2, "[2001:db8::8]:40004", "device-42", true)),
		headerBytes(f, proxySSLHeader(f, 2, "198.51.100.12:5555", "admin", tlvparse.PP2_BITFIELD_CLIENT_SSL, 0)),
		[]byte("PROXY TCP4 203.0.113.9 127.0.0.1 5555 1883\r\n\x10\x00"),
		[]byte("\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04evil"),
	} {
		f.Add(h)
	}
	l := &Listener{opts: Options{ProxyHeaderTimeout: 200 * time.Millisecond}}
	f.Fuzz(func(t *testing.T, data []byte) {
		server, client := net.Pipe()
		defer server.Close()
		go func() {
			client.SetWriteDeadline(time.Now().Add(time.Second))
			client.Write(data)
			client.Close()
		}()
		pc, cn, err := l.readProxyHeader(server)
		if err != nil {
			return
		}
		if strings.IndexByte(cn, 0) >= 0 || checkCN(cn) != nil {
			t.Fatalf("CN %q accepted", cn)
		}
		pc.SetReadDeadline(time.Now().Add(time.Second))
		io.Copy(io.Discard, pc)
	})
}

func headerBytes(t testing.TB, h io.WriterTo) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := h.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
