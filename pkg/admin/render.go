package admin

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// JSONShape is VerneMQ's JSON form of a result (vmq-admin --format=json, /api/v1):
// {"type":"table","table":[{col:val,...}]}, {"type":"text","text":...} or {"type":"error","error":...}.
func JSONShape(res Result) map[string]any {
	switch res.Type {
	case "table":
		rows := make([]map[string]string, 0, len(res.Rows))
		for _, r := range res.Rows {
			m := make(map[string]string, len(res.Headers))
			for i, h := range res.Headers {
				if i < len(r) {
					m[h] = r[i]
				}
			}
			rows = append(rows, m)
		}
		out := map[string]any{"type": "table", "table": rows}
		if res.Note != "" {
			out["note"] = res.Note
		}
		return out
	case "text":
		return map[string]any{"type": "text", "text": res.Text}
	}
	return map[string]any{"type": "error", "error": res.Error}
}

// Render writes res for a terminal ("" or "human": VerneMQ-style ASCII tables) or
// as JSON ("json"). Errors are written too; the caller decides the exit code.
func Render(w io.Writer, res Result, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(JSONShape(res))
	case "", "human":
	default:
		return fmt.Errorf("unknown --format=%s; use human or json", format)
	}
	switch res.Type {
	case "table":
		if err := renderTable(w, res.Headers, res.Rows); err != nil {
			return err
		}
		if res.Note != "" {
			_, err := fmt.Fprintln(w, res.Note)
			return err
		}
		return nil
	case "text":
		_, err := fmt.Fprintln(w, res.Text)
		return err
	}
	_, err := fmt.Fprintln(w, "Error:", res.Error)
	return err
}

// renderTable draws an ASCII table with centred cells and headers as given, like VerneMQ's clique tables.
func renderTable(w io.Writer, headers []string, rows [][]string) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithSymbols(tw.NewSymbols(tw.StyleASCII)),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignCenter),
		tablewriter.WithRowAlignment(tw.AlignCenter),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
	t.Header(headers)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	return t.Render()
}
