package node

import "runtime/debug"

// A binary built without make's -X flag still names its commit, as git describe
// --always --dirty would ("6dc56b4" or "6dc56b4-dirty"), from what go build records.
func init() {
	if Version == "dev" {
		if v := vcsVersion(); v != "" {
			Version = v
		}
	}
}

func vcsVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 7 {
		rev = rev[:7]
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
