package acl

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// access is what a rule grants.
type access uint8

const (
	read        access = 1 << iota // subscribe
	writeAccess                    // publish
)

// rule is one parsed "topic" or "pattern" line, split into levels.
type rule struct {
	words  []string
	access access
}

// Rules is a parsed ACL file.
type Rules struct {
	all      []rule            // "topic" lines before any "user" line: every client
	users    map[string][]rule // "topic" lines after "user <name>"
	patterns []rule            // "pattern" lines, wherever they appear
}

// Warning is a line the parser skipped.
type Warning struct {
	Line int
	Text string
	Err  string
}

// Parse reads VerneMQ ACL syntax (vmq_acl:parse_acl_line):
//
//	# comment
//	topic [read|write] <filter>     global until the first "user" line, then that user's
//	user <username>
//	pattern [read|write] <filter>   %c client id, %u user name, %m mountpoint; applies to all
//
// No keyword means read and write. Keywords are matched as VerneMQ does:
// at the start of the line, followed by exactly one space. Lines VerneMQ
// would choke on are skipped and returned as warnings.
func Parse(r io.Reader) (*Rules, []Warning, error) {
	rs := &Rules{users: map[string][]rule{}}
	var warns []Warning
	user := "" // "" = global section
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		var kind, rest string
		switch {
		case line == "", strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "user "):
			user = trim(line[len("user "):])
			if user == "" {
				warns = append(warns, Warning{n, line, "user line without a name"})
			}
			continue
		case strings.HasPrefix(line, "topic "):
			kind, rest = "topic", line[len("topic "):]
		case strings.HasPrefix(line, "pattern "):
			kind, rest = "pattern", line[len("pattern "):]
		default:
			warns = append(warns, Warning{n, line, "not a comment, user, topic or pattern line"})
			continue
		}
		acc := read | writeAccess
		switch {
		case strings.HasPrefix(rest, "read "):
			acc, rest = read, rest[len("read "):]
		case strings.HasPrefix(rest, "write "):
			acc, rest = writeAccess, rest[len("write "):]
		}
		filter := trim(rest)
		if err := validateFilter(filter); err != nil {
			warns = append(warns, Warning{n, line, err.Error()})
			continue
		}
		ru := rule{words: strings.Split(filter, "/"), access: acc}
		switch {
		case kind == "pattern":
			rs.patterns = append(rs.patterns, ru)
		case user == "":
			rs.all = append(rs.all, ru)
		default:
			rs.users[user] = append(rs.users[user], ru)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, warns, fmt.Errorf("read acl: %w", err)
	}
	return rs, warns, nil
}

// trim strips spaces and tabs at both ends, as vmq_acl:trim/1.
func trim(s string) string { return strings.Trim(s, " \t") }
