package dbacl

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// CheckBcrypt is bcrypt.hashpw(password, passhash) == passhash. VerneMQ only
// takes $2a$; $2b$/$2y$ hashes are accepted too since they verify the same.
func CheckBcrypt(passhash string, password []byte) bool {
	if passhash == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(passhash), password) == nil
}

// SHA256Hex is CockroachDB's sha256(text): lower-case hex of SHA-256.
func SHA256Hex(password []byte) string {
	s := sha256.Sum256(password)
	return hex.EncodeToString(s[:])
}

// CheckSHA256 compares a stored sha256 hex digest with the password's.
func CheckSHA256(stored string, password []byte) bool {
	want := SHA256Hex(password)
	got := strings.ToLower(strings.TrimSpace(stored))
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Checker returns the client-side check of password against a stored hash
// for method bcrypt or sha256 (any other method never matches).
func Checker(method, stored string, password []byte) func() bool {
	return func() bool {
		switch method {
		case "bcrypt":
			return CheckBcrypt(stored, password)
		case "sha256":
			return CheckSHA256(stored, password)
		}
		return false
	}
}
