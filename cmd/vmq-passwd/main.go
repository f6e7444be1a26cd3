// Command vmq-passwd manages VerneMQ password files (vmq_passwd plugin).
// Usage, messages and exit codes follow VerneMQ's vmq-passwd (vmq_passwd.c):
//
//	vmq-passwd [-c | -D] passwordfile username
//	vmq-passwd -U passwordfile
//
// The password is read twice, without echo from a terminal, else as two
// lines from standard input.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, "vmq-passwd is a tool for managing password files for VerneMQ.\n\n"+
		"Usage: vmq-passwd [-c | -D] passwordfile username\n"+
		"       vmq-passwd -U passwordfile\n"+
		" -c[f] : create a new password file. Use -cf to (f)orce overwriting existing files.\n"+
		" -D    : delete the username rather than adding/updating its password.\n"+
		" -U    : update a plain text password file to use hashed passwords.\n")
}

// run is main without the process: it returns the exit code.
func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	var (
		file, user               string
		create, force, del, upgr bool
	)
	switch len(args) {
	case 3:
		switch args[0] {
		case "-c":
			create = true
		case "-cf":
			create, force = true, true
		case "-D":
			del = true
		default:
			usage(stdout)
			return 1
		}
		file, user = args[1], args[2]
	case 2:
		if args[0] == "-U" {
			upgr, file = true, args[1]
		} else {
			file, user = args[0], args[1]
		}
	default:
		usage(stdout)
		return 1
	}
	if !upgr {
		if err := checkUser(user); err != nil {
			fmt.Fprintf(stderr, "Error: %v.\n", err)
			return 1
		}
	}
	in := newPasswordReader(stdin, stdout)

	if create {
		_, statErr := os.Stat(file)
		exists := statErr == nil
		if exists && !force {
			fmt.Fprintf(stderr, "Error: File %s already exists. Please use -cf in case you want to overwrite the file\n", file)
			return 1
		}
		if exists {
			fmt.Fprintln(stdout, "File already exists. PLEASE ABORT OPERATION IF YOU DO NOT INTENT TO OVERWRITE THE ALREADY EXISTING FILE!")
		}
		pw, err := in.twice()
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v.\n", err)
			return 1
		}
		if err := createFile(file, user, pw); err != nil {
			fmt.Fprintf(stderr, "Error: Unable to open file %s for writing. %v.\n", file, err)
			return 1
		}
		return 0
	}

	old, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "Error: Unable to open password file %s. %v.\n", file, err)
		return 1
	}
	var lines []string
	switch {
	case del:
		var found bool
		lines, found = deleteUser(splitLines(old), user)
		if !found {
			fmt.Fprintf(stderr, "Warning: User %s not found in password file.\n", user)
		}
	case upgr:
		lines, err = hashPlain(splitLines(old))
	default:
		var pw []byte
		pw, err = in.twice()
		if err == nil {
			lines, err = setUser(splitLines(old), user, pw)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v.\n", err)
		return 1
	}
	if err := replaceFile(file, lines); err != nil {
		fmt.Fprintf(stderr, "Error occurred updating password file %s: %v.\n", file, err)
		return 1
	}
	return 0
}

// passwordReader reads passwords from a terminal without echo, or lines from a pipe.
type passwordReader struct {
	f   *os.File
	br  *bufio.Reader
	out io.Writer
}

func newPasswordReader(f *os.File, out io.Writer) *passwordReader {
	return &passwordReader{f: f, br: bufio.NewReader(f), out: out}
}

// twice is get_password: prompt, read, prompt again, compare.
func (r *passwordReader) twice() ([]byte, error) {
	fmt.Fprint(r.out, "Password: ")
	pw1, err := r.one()
	if err != nil {
		return nil, err
	}
	fmt.Fprint(r.out, "\n")
	fmt.Fprint(r.out, "Reenter password: ")
	pw2, err := r.one()
	if err != nil {
		return nil, err
	}
	fmt.Fprint(r.out, "\n")
	if string(pw1) != string(pw2) {
		//lint:ignore ST1005 printed as "Error: <msg>." word for word like VerneMQ's vmq-passwd
		return nil, fmt.Errorf("Passwords do not match")
	}
	return pw1, nil
}

// one is gets_quiet: one line, line ending stripped, empty refused.
func (r *passwordReader) one() ([]byte, error) {
	restore := noEcho(r.f)
	line, err := r.br.ReadString('\n')
	restore()
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if line == "" {
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading password: %v", err)
		}
		//lint:ignore ST1005 printed as "Error: <msg>." word for word like VerneMQ's vmq-passwd
		return nil, fmt.Errorf("Empty password")
	}
	return []byte(line), nil
}
