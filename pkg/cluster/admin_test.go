package cluster

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

func TestAdminReqFrameBytes(t *testing.T) {
	f, err := adminReqFrame(7, []string{"session", "show", "--node=b"})
	if err != nil {
		t.Fatal(err)
	}
	// length 25, type 14, id 7, 3 words, each a uvarint length and its bytes.
	want := "00000019" + "0e" + "07" + "03" + "07" + hex.EncodeToString([]byte("session")) +
		"04" + hex.EncodeToString([]byte("show")) + "08" + hex.EncodeToString([]byte("--node=b"))
	if got := hex.EncodeToString(f); got != want {
		t.Fatalf("frame\n got %s\nwant %s", got, want)
	}
	typ, body, _, err := readFrame(bytes.NewReader(f), nil, 1<<10)
	if err != nil || typ != fAdminReq {
		t.Fatalf("readFrame: %v type %d", err, typ)
	}
	id, argv, err := decodeAdminReq(&dec{b: body})
	if err != nil || id != 7 || !reflect.DeepEqual(argv, []string{"session", "show", "--node=b"}) {
		t.Fatalf("decoded id %d argv %q err %v", id, argv, err)
	}
}

func TestAdminReqRejectsLyingCount(t *testing.T) {
	// id 1, claims 200 words in a 1-byte remainder.
	body, _ := hex.DecodeString("01c80100")
	if _, _, err := decodeAdminReq(&dec{b: body}); err == nil {
		t.Fatal("a word count larger than the body was accepted")
	}
	// Truncated word: length 5 but 2 bytes follow.
	body, _ = hex.DecodeString("0101056162")
	if _, _, err := decodeAdminReq(&dec{b: body}); err == nil {
		t.Fatal("a truncated word was accepted")
	}
}

func TestAdminResFrameBytes(t *testing.T) {
	f, err := adminResFrame(300, adminFailed, []byte("busy"))
	if err != nil {
		t.Fatal(err)
	}
	// length 9, type 15, id 300 as uvarint ac02, status 1, payload of 4 bytes.
	want := "00000009" + "0f" + "ac02" + "01" + "04" + hex.EncodeToString([]byte("busy"))
	if got := hex.EncodeToString(f); got != want {
		t.Fatalf("frame\n got %s\nwant %s", got, want)
	}
}
