package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vernemq-go/vernemq/pkg/auth/passwd"
)

func checkUser(user string) error { return passwd.CheckUsername(user) }

// splitLines splits file content into lines without their "\n".
func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// lineUser is the text before the first ':' (strtok(line, ":") in vmq_passwd.c).
func lineUser(line string) string {
	u, _, _ := strings.Cut(strings.TrimRight(line, "\r"), ":")
	return u
}

// setUser is update_pwuser: replace the user's line in place, else append.
func setUser(lines []string, user string, pw []byte) ([]string, error) {
	entry, err := passwd.Line(user, pw)
	if err != nil {
		return nil, err
	}
	found := false
	out := make([]string, 0, len(lines)+1)
	for _, l := range lines {
		if lineUser(l) == user {
			found = true
			out = append(out, entry)
			continue
		}
		out = append(out, l)
	}
	if !found {
		out = append(out, entry)
	}
	return out, nil
}

// deleteUser is delete_pwuser.
func deleteUser(lines []string, user string) ([]string, bool) {
	found := false
	out := lines[:0:0]
	for _, l := range lines {
		if lineUser(l) == user {
			found = true
			continue
		}
		out = append(out, l)
	}
	return out, found
}

// hashPlain is update_file (-U): "user:password" lines become hashed entries;
// lines without ':' are kept. The password is everything after the first ':'.
func hashPlain(lines []string) ([]string, error) {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		u, pw, ok := strings.Cut(strings.TrimRight(l, "\r"), ":")
		if !ok || pw == "" {
			out = append(out, l)
			continue
		}
		entry, err := passwd.Line(u, []byte(pw))
		if err != nil {
			return nil, err
		}
		out = append(out, entry)
	}
	return out, nil
}

func content(lines []string) []byte {
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// createFile is -c/-cf: a new file holding one user.
func createFile(path, user string, pw []byte) error {
	entry, err := passwd.Line(user, pw)
	if err != nil {
		return err
	}
	return os.WriteFile(path, content([]string{entry}), 0o666)
}

// replaceFile writes via a temp file and rename so the broker's reloader
// never reads a half-written file; the original permissions are kept.
func replaceFile(path string, lines []string) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(content(lines)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
