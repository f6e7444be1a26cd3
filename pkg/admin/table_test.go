package admin

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var fruitTable = FieldTable{Noun: "fruits", Fields: []string{"name", "color", "size"}, Default: []string{"name"}, Limit: 2}

func fruitQuery(t *testing.T, flags ...string) Result {
	t.Helper()
	req := &Request{Flags: map[string]string{}}
	for _, f := range flags {
		k, v, _ := strings.Cut(f, "=")
		req.setFlag(k, v)
	}
	q, err := fruitTable.Parse(req)
	if err != nil {
		t.Fatal(err)
	}
	c := fruitTable.Collect(q)
	for _, row := range []map[string]string{
		{"name": "apple", "color": "red", "size": "m"},
		{"name": "banana", "color": "yellow", "size": "l"},
		{"name": "cherry", "color": "red", "size": "s"},
	} {
		if !c.Add(row) {
			break
		}
	}
	return c.Result()
}

func TestFieldTableSelectFilterLimit(t *testing.T) {
	res := fruitQuery(t)
	if strings.Join(res.Headers, ",") != "name" || len(res.Rows) != 2 || !strings.Contains(res.Note, "first 2 fruits") {
		t.Fatalf("default: %+v", res)
	}
	res = fruitQuery(t, "size", "name", "color=red")
	if strings.Join(res.Headers, ",") != "size,name" || len(res.Rows) != 2 || res.Rows[1][1] != "cherry" || res.Note != "" {
		t.Fatalf("select+filter: %+v", res)
	}
	res = fruitQuery(t, "name", "name=~an", "color", "limit=10")
	if strings.Join(res.Headers, ",") != "name,color" || len(res.Rows) != 1 || res.Rows[0][1] != "yellow" {
		t.Fatalf("select and filter one field: %+v", res)
	}
	res = fruitQuery(t, "name=~an", "limit=10")
	if len(res.Rows) != 1 || res.Rows[0][0] != "banana" {
		t.Fatalf("regex: %+v", res)
	}
	res = fruitQuery(t, "color=~^(red|yellow)$", "limit=3")
	if len(res.Rows) != 3 || res.Note != "" {
		t.Fatalf("limit 3: %+v", res)
	}
}

func TestFieldTableErrors(t *testing.T) {
	for flag, want := range map[string]string{"weight": "unknown field --weight", "limit": "not a positive number", "name": "bad regular expression"} {
		req := &Request{Flags: map[string]string{}}
		switch flag {
		case "limit":
			req.setFlag("limit", "x")
		case "name":
			req.setFlag("name", "~(")
		default:
			req.setFlag(flag, "")
		}
		if _, err := fruitTable.Parse(req); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--%s: got %v want %q", flag, err, want)
		}
	}
}

func TestRenderTableLikeVerneMQ(t *testing.T) {
	var buf bytes.Buffer
	res := Table([]string{"client_id", "is_online"}, [][]string{{"client2", "true"}})
	res.Note = "a note"
	if err := Render(&buf, res, ""); err != nil {
		t.Fatal(err)
	}
	want := "+-----------+-----------+\n" +
		"| client_id | is_online |\n" +
		"+-----------+-----------+\n" +
		"|  client2  |   true    |\n" +
		"+-----------+-----------+\n" +
		"a note\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestRenderJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, Table([]string{"Node", "Running"}, [][]string{{"n1", "true"}}), "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Type  string              `json:"type"`
		Table []map[string]string `json:"table"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil || got.Type != "table" || got.Table[0]["Node"] != "n1" {
		t.Fatalf("json %s: %v", buf.String(), err)
	}
	buf.Reset()
	Render(&buf, Text("Done"), "json")
	if strings.TrimSpace(buf.String()) != `{"text":"Done","type":"text"}` {
		t.Fatalf("text json: %s", buf.String())
	}
	if err := Render(&buf, Text("x"), "yaml"); err == nil {
		t.Fatal("unknown format accepted")
	}
}
