package passwd

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SaltLen is the salt size vmq-passwd uses (SALT_LEN in vmq_passwd.c).
const SaltLen = 12

// Hash is vmq_passwd:hash/2: base64(SHA-512(password ‖ salt)), one round.
func Hash(password, salt []byte) string {
	h := sha512.New()
	h.Write(password)
	h.Write(salt)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Line formats one password-file line (without newline) with a fresh salt,
// exactly as vmq-passwd writes it: "user:$6$<b64 salt>$<b64 hash>".
func Line(user string, password []byte) (string, error) {
	if err := CheckUsername(user); err != nil {
		return "", err
	}
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("no entropy for a password salt: %w", err)
	}
	return user + ":$6$" + base64.StdEncoding.EncodeToString(salt) + "$" + Hash(password, salt), nil
}

// CheckUsername rejects names the file format cannot hold.
func CheckUsername(user string) error {
	switch {
	case user == "":
		return errors.New("username is empty")
	case strings.ContainsAny(user, ":\r\n"):
		return fmt.Errorf("username %q must not contain ':' or a line break", user)
	}
	return nil
}

// Entry is one parsed password-file line.
type Entry struct {
	User string
	Salt []byte
	Hash string // base64, compared as text as vmq_passwd does
}

// ParseLine parses "user:$<id>$<b64 salt>$<b64 hash>". The id field is
// ignored, as in vmq_passwd. ok is false for blank lines and comments. A line
// starting with "#" is a comment unless it is a whole entry: vmq-passwd writes
// user names such as "#" or "#dev" that way.
func ParseLine(line string) (e Entry, ok bool, err error) {
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return Entry{}, false, nil
	}
	if strings.HasPrefix(line, "#") {
		if e, err := parseEntry(line); err == nil {
			return e, true, nil
		}
		return Entry{}, false, nil
	}
	e, err = parseEntry(line)
	return e, err == nil, err
}

func parseEntry(line string) (Entry, error) {
	user, rest, found := strings.Cut(line, ":")
	if !found || strings.Contains(rest, ":") {
		return Entry{}, errors.New("want exactly one ':' (user:$6$salt$hash); regenerate the line with vmq-passwd")
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 4 || parts[0] != "" {
		return Entry{}, errors.New("password is not $6$salt$hash; hash plain-text files with vmq-passwd -U")
	}
	salt, err := decode64(parts[2])
	if err != nil {
		return Entry{}, fmt.Errorf("salt is not base64: %w", err)
	}
	return Entry{User: user, Salt: salt, Hash: parts[3]}, nil
}

// decode64 accepts padded and unpadded base64 (Erlang's base64:decode is lenient about padding).
func decode64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Check reports whether password matches the entry, in constant time.
func (e Entry) Check(password []byte) bool {
	return subtle.ConstantTimeCompare([]byte(Hash(password, e.Salt)), []byte(e.Hash)) == 1
}
