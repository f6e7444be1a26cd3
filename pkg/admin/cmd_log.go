package admin

import (
	"context"
	"strings"

	"github.com/vernemq-go/vernemq/pkg/logging"
)

// logCommands are VerneMQ 2's log show config and log level: the node's log outputs,
// named as VerneMQ names its Erlang logger handlers, and their levels at run time.
func logCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path: "log show config",
		Help: "Show the log outputs (loggers) with their level, type and file",
		Long: "Loggers, as VerneMQ names them: default (the error log, log.error.file), console (standard error), " +
			"consolefile (log.console.file), syslog. Levels are the effective ones: notice shows as info, critical, alert and emergency as error.",
		Flags: clusterFlags,
		Run: clustered(b, func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Logs != nil, "log outputs"); !ok {
				return res
			}
			var rows [][]string
			for _, o := range b.Logs.Outputs() {
				rows = append(rows, []string{o.Logger, o.Level, o.Type, o.File})
			}
			return Table([]string{"logger", "level", "type", "file"}, rows)
		}),
	})
	r.Register(Command{
		Path: "log level",
		Help: "Set the level of one logger at run time: log level logger=<logger> level=<level> (lost on restart)",
		Long: "Levels: " + strings.Join(logging.LevelNames, ", ") + ". notice acts as info; critical, alert and emergency as error; " +
			"all as debug. A later vmq-admin set log.console.level=<level> sets console and consolefile (and syslog when log.syslog.level = all) again.",
		Args: []Param{
			{Name: "logger", Required: true, Help: "a logger of vmq-admin log show config: default, console, consolefile or syslog"},
			{Name: "level", Required: true, Help: strings.Join(logging.LevelNames, ", ")},
		},
		Flags: changeFlags("change"),
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Logs != nil, "log outputs"); !ok {
				return res
			}
			return changeOn(ctx, b, req, func(req *Request) Result {
				if err := b.Logs.SetLevel(req.Args["logger"], req.Args["level"]); err != nil {
					return Errorf("%v", err)
				}
				return Text("Done")
			})
		},
	})
}
