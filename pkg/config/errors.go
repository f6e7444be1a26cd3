package config

import (
	"errors"
	"fmt"
)

var (
	// ErrNotRuntime is wrapped by Set for keys that need a restart to change.
	ErrNotRuntime = errors.New("cannot be changed at run time")
	// ErrUnknownKey is wrapped by Set for keys missing from the schema.
	ErrUnknownKey = errors.New("unknown key")
)

// Error is one problem in a configuration source, printed "FILE:LINE: KEY: msg".
// Environment problems use the variable name as Source and Line 0.
type Error struct {
	Source string
	Line   int
	Key    string
	Msg    string
}

func (e *Error) Error() string {
	pos := e.Source
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d", e.Source, e.Line)
	}
	if e.Key == "" {
		return pos + ": " + e.Msg
	}
	return pos + ": " + e.Key + ": " + e.Msg
}

// origin records where a setting came from, for error and duplicate messages.
type origin struct {
	source string
	line   int
}

func (o origin) String() string {
	if o.line > 0 {
		return fmt.Sprintf("%s:%d", o.source, o.line)
	}
	return o.source
}
