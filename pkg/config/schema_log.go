package config

import (
	"fmt"
	"math"
	"strconv"
)

// logKeys: VerneMQ's log outputs beyond the console log (§3e): the error log, rotation, syslog
// (log.console.console.format and log.console.file.format are in miscKeys).
func logKeys() []*Key {
	return []*Key{
		{Name: "log.console.rotation.size", Type: TypeString, Default: "infinity", Check: checkRotationSize,
			Doc: "Rotate the console log file when it reaches this size (rounded up to whole MiB); infinity = never."},
		atLeast(&Key{Name: "log.console.rotation.keep", Type: TypeInt, Default: "5",
			Doc: "Rotated console log files kept."}, 0),
		{Name: "log.console.rotation.compress_on_rotate", Type: TypeBool, Default: "off",
			Doc: "gzip rotated console log files."},

		{Name: "log.error", Type: TypeBool, Default: "on", Doc: "Also write warnings and errors to log.error.file."},
		{Name: "log.error.file", Type: TypeString, Default: "$(platform_log_dir)/error.log", NonEmpty: true,
			Doc: "File of the error log (warnings and errors)."},
		{Name: "log.error.file.format", Type: TypeEnum, Default: "text", Enum: []string{"text", "json"},
			Doc: "Line format of the error log."},
		{Name: "log.error.rotation.size", Type: TypeString, Default: "infinity", Check: checkRotationSize,
			Doc: "Rotate the error log when it reaches this size (rounded up to whole MiB); infinity = never."},
		atLeast(&Key{Name: "log.error.rotation.keep", Type: TypeInt, Default: "5",
			Doc: "Rotated error log files kept."}, 0),
		{Name: "log.error.rotation.compress_on_rotate", Type: TypeBool, Default: "off",
			Doc: "gzip rotated error log files."},

		{Name: "log.syslog", Type: TypeBool, Default: "off", Doc: "Also send log lines to syslog (local socket, or log.syslog.remote.host)."},
		{Name: "log.syslog.level", Type: TypeEnum, Default: "all", Enum: []string{"all", "debug", "info", "warning", "error"},
			Doc: "Lowest level sent to syslog; all follows log.console.level."},
		{Name: "log.syslog.format", Type: TypeEnum, Default: "rfc3164", Enum: []string{"rfc3164", "rfc5424"},
			Doc: "Syslog message format."},
		{Name: "log.syslog.facility", Type: TypeEnum, Default: "daemon", Enum: syslogFacilities,
			Doc: "Syslog facility."},
		{Name: "log.syslog.app_name", Type: TypeString, Default: "vernemq", NonEmpty: true,
			Doc: "Syslog tag / APP-NAME."},
		{Name: "log.syslog.remote.host", Type: TypeString, Default: "",
			Doc: "Send to this syslog server instead of the local socket."},
		rng(&Key{Name: "log.syslog.remote.port", Type: TypeInt, Default: "514", Doc: "Port of the remote syslog server."}, 1, 65535),
		{Name: "log.syslog.remote.protocol", Type: TypeEnum, Default: "udp", Enum: []string{"udp", "tcp", "tls"},
			Doc: "Transport to the remote syslog server (tcp and tls frame messages by octet counting, RFC 6587)."},
		{Name: "log.syslog.remote.tls.cafile", Type: TypeString, Default: "",
			Doc: "CA bundle that verifies the remote syslog server (tls); empty = the system's roots."},
		{Name: "log.syslog.socket", Type: TypeString, Default: "/dev/log", NonEmpty: true,
			Doc: "Local syslog socket (ours; VerneMQ always uses the system's)."},
	}
}

// syslogFacilities are VerneMQ's facility names; SyslogFacility maps them to codes.
var syslogFacilities = []string{"kern", "kernel", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "logaudit", "logalert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// SyslogFacility returns the RFC 5424 code of a facility name of log.syslog.facility.
func SyslogFacility(name string) int {
	codes := map[string]int{"kern": 0, "kernel": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5,
		"lpr": 6, "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "logaudit": 13,
		"logalert": 14, "clock": 15, "local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20,
		"local5": 21, "local6": 22, "local7": 23}
	if c, ok := codes[name]; ok {
		return c
	}
	return 3
}

// RotationSize reads a log.*.rotation.size value: bytes, or 0 for infinity.
func RotationSize(s string) int64 {
	if s == "infinity" {
		return 0
	}
	n, _ := parseBytes(s)
	return n
}

func checkRotationSize(s string) error {
	if s == "infinity" {
		return nil
	}
	n, err := parseBytes(s)
	if err != nil {
		return fmt.Errorf("%w, or infinity", err)
	}
	if n <= 0 || n > math.MaxInt32*int64(1<<20) {
		return fmt.Errorf("%q is out of range (allowed: 1B..%sMB, or infinity)", s, strconv.Itoa(math.MaxInt32))
	}
	return nil
}
