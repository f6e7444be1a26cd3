package packets

import (
	"bufio"
	"bytes"
	"reflect"
	"testing"
)

// fuzzVersions maps the fuzzer's version byte onto the session levels.
var fuzzVersions = [...]byte{0, V31, V311, V5}

// FuzzDecode checks that no input panics the decoder and that whatever
// decodes re-encodes to bytes that decode to the same packet.
func FuzzDecode(f *testing.F) {
	index := func(v byte) byte {
		for i, fv := range fuzzVersions {
			if fv == v {
				return byte(i)
			}
		}
		return 0
	}
	for _, fx := range Fixtures {
		f.Add(fx.Bytes, index(decodeVersion(fx)))
	}
	for _, fx := range ErrorFixtures {
		f.Add(fx.Bytes, index(fx.Version))
	}
	f.Fuzz(func(t *testing.T, data []byte, vi byte) {
		version := fuzzVersions[int(vi)%len(fuzzVersions)]
		p, err := ReadPacket(bufio.NewReaderSize(bytes.NewReader(data), 16), version, 0)
		if err != nil {
			return
		}
		encVersion := version
		if c, ok := p.(*Connect); ok {
			encVersion = ConnectVersion(c)
		}
		wire, err := Encode(nil, p, encVersion)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", p, err)
		}
		h, body := splitWire(t, wire)
		p2, err := Decode(h, body, version)
		if err != nil {
			t.Fatalf("re-encoded % x does not decode: %v", wire, err)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip changed the packet:\n got %#v\nwant %#v", p2, p)
		}
	})
}

// splitWire separates an encoded packet into header byte and body.
func splitWire(t *testing.T, b []byte) (byte, []byte) {
	t.Helper()
	d := decoder{b: b[1:]}
	rl := d.varint("remaining length")
	if d.err != nil || int(rl) != len(d.b) {
		t.Fatalf("encoder wrote a bad remaining length: % x", b)
	}
	return b[0], d.b
}
