package admin

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// FieldTable is a listing whose columns are chosen with --<field> and whose rows are
// filtered with --<field>=value or --<field>=~regex, as vmq-admin session show does.
type FieldTable struct {
	Noun     string   // "sessions", for the note when --limit cuts the list
	Fields   []string // every field
	Default  []string // columns when no --<field> selects any
	Limit    int      // rows shown without --limit
	Reserved []string // flags that are not fields (besides limit)
}

// Filter keeps rows whose field equals Value, or matches Re for =~.
type Filter struct {
	Field string
	Value string
	Re    *regexp.Regexp
}

// Match reports whether v passes the filter.
func (f Filter) Match(v string) bool {
	if f.Re != nil {
		return f.Re.MatchString(v)
	}
	return v == f.Value
}

// Query is a parsed field selection.
type Query struct {
	Columns []string
	Filters []Filter
	Limit   int
}

// Uses reports whether field is shown or filtered on.
func (q Query) Uses(field string) bool {
	return slices.Contains(q.Columns, field) || slices.ContainsFunc(q.Filters, func(f Filter) bool { return f.Field == field })
}

// Params lists the table's flags for help output.
func (t FieldTable) Params() []Param {
	ps := []Param{{Name: "limit", Value: "N", Default: strconv.Itoa(t.Limit), Help: "show at most N rows"}}
	for _, f := range t.Fields {
		def := ""
		if slices.Contains(t.Default, f) {
			def = "shown by default"
		}
		ps = append(ps, Param{Name: f, Value: "[=value|=~regex]", Default: def, Help: "show " + f + "; with a value, keep only matching rows"})
	}
	return ps
}

// Parse reads column selection, filters and --limit from req.
func (t FieldTable) Parse(req *Request) (Query, error) {
	q := Query{Limit: t.Limit}
	for _, fv := range req.FlagList {
		name, val := fv.Name, fv.Value
		switch {
		case name == "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return q, fmt.Errorf("--limit=%q is not a positive number (e.g. --limit=500)", val)
			}
			q.Limit = n
			continue
		case slices.Contains(t.Reserved, name):
			continue
		case !slices.Contains(t.Fields, name):
			return q, fmt.Errorf("unknown field --%s; fields are: %s", name, strings.Join(t.Fields, ", "))
		}
		if val == "" {
			if !slices.Contains(q.Columns, name) {
				q.Columns = append(q.Columns, name)
			}
			continue
		}
		f := Filter{Field: name, Value: val}
		if expr, ok := strings.CutPrefix(val, "~"); ok {
			re, err := regexp.Compile(expr)
			if err != nil {
				return q, fmt.Errorf("--%s=~%s: bad regular expression: %v", name, expr, err)
			}
			f.Re = re
		}
		q.Filters = append(q.Filters, f)
	}
	if len(q.Columns) == 0 {
		q.Columns = slices.Clone(t.Default)
	}
	return q, nil
}

// Collector gathers the rows of a FieldTable query.
type Collector struct {
	t    FieldTable
	q    Query
	rows [][]string
	more bool
}

// Collect starts gathering rows for q.
func (t FieldTable) Collect(q Query) *Collector { return &Collector{t: t, q: q} }

// Add offers one row (field → value); it returns false once the limit is reached.
func (c *Collector) Add(row map[string]string) bool {
	for _, f := range c.q.Filters {
		if !f.Match(row[f.Field]) {
			return true
		}
	}
	if len(c.rows) >= c.q.Limit {
		c.more = true
		return false
	}
	out := make([]string, len(c.q.Columns))
	for i, col := range c.q.Columns {
		out[i] = row[col]
	}
	c.rows = append(c.rows, out)
	return true
}

// Result returns the table, with a note when the limit cut it.
func (c *Collector) Result() Result {
	res := Table(c.q.Columns, c.rows)
	if c.more {
		res.Note = fmt.Sprintf("showing the first %d %s; use --limit=N to see more", c.q.Limit, c.t.Noun)
	}
	return res
}
