// Command vmq-bench is the side-by-side load generator of `make bench`: it speaks
// MQTT through the project's own codec and measures one broker per run.
//
//	vmq-bench freeport                          prints a free 127.0.0.1 port
//	vmq-bench certs -dir DIR                    CA + server certificate for 127.0.0.1
//	vmq-bench run -broker NAME -addr A [-tls-addr B -ca F] -pid P -scenarios 1,2,... -out F.jsonl
//	vmq-bench serve -c FILE -cpuprofile F -memprofile F   this broker in-process, profiled
//	vmq-bench report -brokers this,mosquitto,mochi -md docs/benchmarks.md F.jsonl...
//	vmq-bench fill / restart-probe ...          scenario 9, around a restart the script does
//	vmq-bench park / park-probe ...             scenario 12, offline sessions around a restart
//	vmq-bench subs / subs-probe ...             scenario 13, many (wildcard) subscriptions around a restart
//	vmq-bench storm -clients N -sessions M ...  scenario 14, a clean-session connect storm
//	vmq-bench authseed -users N -dir D -pg URL -redis ADDR   scenario 10's users
//	vmq-bench note -broker B -id ID -scenario L -why TEXT -out F   a skipped scenario's row
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vernemq-go/vernemq/internal/freeport"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: vmq-bench certs|run|report [flags]; -h on each for flags")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "certs":
		fs := flag.NewFlagSet("certs", flag.ExitOnError)
		dir := fs.String("dir", ".", "directory for ca.pem, server.pem, server.key")
		_ = fs.Parse(os.Args[2:])
		err = writeCerts(*dir)
	case "freeport":
		// The script asks for free loopback ports here (below the ephemeral range, see freeport).
		// -pair: a cluster listener whose port+1 (serf gossip, TCP and UDP) is free too.
		if len(os.Args) > 2 && os.Args[2] == "-pair" {
			var p int
			if p, err = freeport.Pair(); err == nil {
				fmt.Println(p)
			}
			break
		}
		var p int
		if p, err = freeport.One(); err == nil {
			fmt.Println(p)
		}
	case "serve":
		err = serveCmd(os.Args[2:])
	case "run":
		err = runCmd(os.Args[2:])
	case "fill":
		err = fillCmd(os.Args[2:])
	case "restart-probe":
		err = probeCmd(os.Args[2:])
	case "park":
		err = parkCmd(os.Args[2:])
	case "park-probe":
		err = parkProbeCmd(os.Args[2:])
	case "subs":
		err = subsCmd(os.Args[2:])
	case "subs-probe":
		err = subsProbeCmd(os.Args[2:])
	case "storm":
		err = stormCmd(os.Args[2:])
	case "authseed":
		err = authSeedCmd(os.Args[2:])
	case "note":
		fs := flag.NewFlagSet("note", flag.ExitOnError)
		broker := fs.String("broker", "", "broker the scenario was skipped for")
		id := fs.String("id", "", "scenario id")
		label := fs.String("scenario", "", "scenario label")
		why := fs.String("why", "", "why it was skipped")
		out := fs.String("out", "", "JSON-lines file")
		_ = fs.Parse(os.Args[2:])
		err = emit(*out, row{Broker: *broker, ID: *id, Scenario: *label, Failed: "skipped: " + *why})
	case "report":
		fs := flag.NewFlagSet("report", flag.ExitOnError)
		brokers := fs.String("brokers", "this,mosquitto,mochi", "column order; the first is compared with the others")
		md := fs.String("md", "", "markdown file to append a dated section to")
		title := fs.String("title", "make bench", "section title")
		notes := fs.String("notes", "", "text put above the table (e.g. limits that were lowered)")
		_ = fs.Parse(os.Args[2:])
		err = report(fs.Args(), strings.Split(*brokers, ","), *md, *title, *notes)
	default:
		err = fmt.Errorf("unknown command %q: use certs, freeport, run, serve, report, fill, restart-probe, park, park-probe, subs, subs-probe, storm, authseed or note", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmq-bench:", err)
		os.Exit(1)
	}
}

// opts are the knobs of one run against one broker.
type opts struct {
	broker     string
	t, tlsT    target
	pid        int
	scenarios  map[string]bool
	step       time.Duration
	rates      []int
	fanRates   []int
	pubs       int
	fanSubs    int
	conns      int
	idle       int
	overload   time.Duration
	logf       func(string, ...any)
	withTLS    bool
	connsPar   int
	sharedSubs int
	offSubs    int    // scenario 8: persistent subscribers
	auth       string // scenario 10: files, postgres or redis
	authUsers  int

	// Scenario 15: the broker runs under `vmq-bench serve -stats`; deliverHook "webhook"
	// serves its on_deliver endpoint at hookListen.
	statsURL    string
	deliverHook string
	hookListen  string
	deliverRate int
}

// logOut is where progress lines go.
var logOut = os.Stderr

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	broker := fs.String("broker", "this", "name of the broker in the results")
	addr := fs.String("addr", "127.0.0.1:1883", "MQTT TCP address")
	tlsAddr := fs.String("tls-addr", "", "MQTT TLS address (scenario 5b)")
	ca := fs.String("ca", "", "CA file the TLS listener's certificate chains to")
	pid := fs.Int("pid", 0, "broker process id for CPU and memory (0: not measured)")
	scen := fs.String("scenarios", "1,2,3,4,5,6,7", "scenarios to run")
	quick := fs.Bool("quick", os.Getenv("BENCH_QUICK") == "1", "smoke run: short steps, fewer clients")
	step := fs.Duration("step", 10*time.Second, "duration of each paced step and of the overload window")
	rates := fs.String("rates", "20000,40000,80000,120000,160000,200000,250000,300000", "fan-in delivered rates to step through (msg/s)")
	fanRates := fs.String("fanout-rates", "20000,40000,80000,120000,160000,200000,250000,300000", "fan-out delivered rates (msg/s)")
	out := fs.String("out", "", "JSON-lines file to append results to (stdout when empty)")
	idle := fs.Int("idle", 10000, "idle clients for scenario 6")
	authBackend := fs.String("auth", "files", "scenario 10: the auth backend the broker runs with (files, postgres, redis)")
	authUsers := fs.Int("auth-users", 1000, "scenario 10: distinct users logging in")
	offSubs := fs.Int("offline-subs", 1000, "scenario 8: offline persistent sessions (quick: 200)")
	statsURL := fs.String("stats-url", "", "scenario 15: the broker's `vmq-bench serve -stats` address, as http://HOST:PORT/")
	deliverHook := fs.String("deliver-hook", "none", "scenario 15: none, inactive (webhooks on, no on_deliver endpoint) or webhook (the broker's conf registers on_deliver at -hook-listen)")
	hookListen := fs.String("hook-listen", "", "scenario 15: where to serve the on_deliver webhook")
	deliverRate := fs.Int("deliver-rate", 2000, "scenario 15: delivered msg/s, one rate an on_deliver webhook sustains on a small machine (each delivery is an HTTP call)")
	_ = fs.Parse(args)
	o := opts{broker: *broker, t: target{Addr: *addr, Version: packets.V311}, pid: *pid, step: *step,
		pubs: 100, fanSubs: 100, conns: 2000, connsPar: 50, idle: *idle, overload: *step, sharedSubs: 4, offSubs: *offSubs, auth: *authBackend, authUsers: *authUsers,
		statsURL: *statsURL, deliverHook: *deliverHook, hookListen: *hookListen, deliverRate: *deliverRate,
		logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }}
	var err error
	if o.rates, err = parseInts(*rates); err != nil {
		return err
	}
	if o.fanRates, err = parseInts(*fanRates); err != nil {
		return err
	}
	if *quick {
		o.step, o.overload = time.Second, 2*time.Second
		o.rates, o.fanRates = []int{10000, 40000}, []int{10000, 40000}
		o.pubs, o.fanSubs, o.conns, o.idle = 20, 20, 300, min(o.idle, 1000)
		o.offSubs, o.authUsers = min(o.offSubs, 200), min(o.authUsers, 200)
	}
	o.scenarios = map[string]bool{}
	for _, s := range strings.Split(*scen, ",") {
		o.scenarios[strings.TrimSpace(s)] = true
	}
	if *tlsAddr != "" {
		cfg, err := clientTLS(*ca)
		if err != nil {
			return err
		}
		o.tlsT, o.withTLS = target{Addr: *tlsAddr, Version: packets.V311, TLS: cfg}, true
	}
	rows := runScenarios(o)
	if *out == "" {
		for _, r := range rows {
			fmt.Printf("%+v\n", r)
		}
		return nil
	}
	return appendRows(*out, rows)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("rate %q: want positive integers separated by commas", f)
		}
		out = append(out, v)
	}
	return out, nil
}
