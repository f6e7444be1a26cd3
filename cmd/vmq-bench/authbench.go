package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/vernemq-go/vernemq/pkg/auth/passwd"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Scenario 10 logs clients in as bench-<i> with benchPassword and lets them publish only
// to bench/<user>/#, through the file plugins or a vmq_diversity database.
const (
	benchPassword = "bench-pw"
	// bcryptCost is pgcrypto's gen_salt('bf') default; every check costs the broker one hash.
	bcryptCost = 6
	benchACL   = `[{"pattern":"bench/%u/#"}]`
)

func benchUser(i int) string { return "bench-" + strconv.Itoa(i) }

// authSeedCmd: vmq-bench authseed -users N [-dir D] [-pg URL] [-redis ADDR] writes the password
// and ACL files to D and the same users into PostgreSQL (table vmq_auth_acl, pgcrypto) and Redis.
func authSeedCmd(args []string) error {
	fs := flag.NewFlagSet("authseed", flag.ExitOnError)
	users := fs.Int("users", 1000, "users bench-0 .. bench-<N-1>")
	dir := fs.String("dir", "", "write passwd and acl files here")
	pg := fs.String("pg", "", "PostgreSQL URL to create vmq_auth_acl in (superuser)")
	rd := fs.String("redis", "", "Redis host:port to store the users in")
	_ = fs.Parse(args)
	if *dir != "" {
		var b strings.Builder
		for i := range *users {
			l, err := passwd.Line(benchUser(i), []byte(benchPassword))
			if err != nil {
				return err
			}
			b.WriteString(l + "\n")
		}
		if err := os.WriteFile(filepath.Join(*dir, "passwd"), []byte(b.String()), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*dir, "acl.auth"), []byte("pattern bench/%u/#\n"), 0o600); err != nil {
			return err
		}
	}
	if *pg == "" && *rd == "" {
		return nil
	}
	// One hash serves every user: each check still costs a full bcrypt round.
	hash, err := bcrypt.GenerateFromPassword([]byte(benchPassword), bcryptCost)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if *pg != "" {
		if err := seedPostgres(ctx, *pg, *users, string(hash)); err != nil {
			return fmt.Errorf("seed postgres: %w", err)
		}
	}
	if *rd != "" {
		if err := seedRedis(ctx, *rd, *users, string(hash)); err != nil {
			return fmt.Errorf("seed redis: %w", err)
		}
	}
	return nil
}

func seedPostgres(ctx context.Context, url string, users int, hash string) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, q := range []string{
		`CREATE EXTENSION IF NOT EXISTS pgcrypto`,
		`DROP TABLE IF EXISTS vmq_auth_acl`,
		`CREATE TABLE vmq_auth_acl (mountpoint character varying(10) NOT NULL, client_id character varying(128) NOT NULL,
		  username character varying(128) NOT NULL, password character varying(128), publish_acl json, subscribe_acl json,
		  CONSTRAINT vmq_auth_acl_primary_key PRIMARY KEY (mountpoint, client_id, username))`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(q)[0], err)
		}
	}
	_, err = c.Exec(ctx, `INSERT INTO vmq_auth_acl SELECT '', '*', 'bench-' || i, $1, $2::json, $2::json FROM generate_series(0, $3 - 1) AS i`,
		hash, benchACL, users)
	return err
}

func seedRedis(ctx context.Context, addr string, users int, hash string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	val := fmt.Sprintf(`{"passhash":%q,"publish_acl":%s,"subscribe_acl":%s}`, hash, benchACL, benchACL)
	pipe := rdb.Pipeline()
	for i := range users {
		pipe.Set(ctx, fmt.Sprintf(`["","*",%q]`, benchUser(i)), val, 0)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// loginConnect is a clean-session CONNECT as user with password.
func loginConnect(t target, id, user, password string) *packets.Connect {
	return &packets.Connect{ProtocolName: "MQTT", ProtocolLevel: t.Version, CleanStart: true, KeepAlive: keepAlive,
		ClientID: id, Username: &user, Password: []byte(password)}
}

// authResult is scenario 10 for one backend.
type authResult struct {
	Uncached, Cached float64 // conn/s
	Publishes        float64 // acked QoS 1 publishes/s
	ConnCores        [2]float64
	PubCores         [2]float64
}

// authBench measures logins of users distinct clients (uncached), the same par clients
// logging in again and again (cached), and QoS 1 publishes of pubs clients through the ACL.
func authBench(t target, users, par, pubs int, dur time.Duration, pid int) (authResult, error) {
	var res authResult
	// The login must really be checked: a wrong password has to be refused.
	if c, err := dialConnect(t, loginConnect(t, "authbad", benchUser(0), "wrong"), 5*time.Second); err == nil {
		c.close()
		return res, errors.New("a wrong password was accepted: is the auth plugin on and allow_anonymous off?")
	}
	if err := checkACL(t); err != nil {
		return res, err
	}
	m := startCPU(pid)
	start := time.Now()
	cs, err := connectManyFn(users, par, func(i int) (*client, error) {
		return dialConnect(t, loginConnect(t, "authu-"+strconv.Itoa(i), benchUser(i), benchPassword), 10*time.Second)
	})
	if err != nil {
		return res, fmt.Errorf("uncached logins: %w", err)
	}
	res.Uncached = float64(users) / time.Since(start).Seconds()
	res.ConnCores[0], res.ConnCores[1], _ = m.stop()
	closeAll(cs)

	start = time.Now()
	errs := make(chan error, par)
	var wg sync.WaitGroup
	per := max(users/par, 1)
	for w := range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				c, err := dialConnect(t, loginConnect(t, "authc-"+strconv.Itoa(w), benchUser(w), benchPassword), 10*time.Second)
				if err != nil {
					errs <- err
					return
				}
				c.close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, fmt.Errorf("repeated logins: %w", err)
	}
	res.Cached = float64(per*par) / time.Since(start).Seconds()

	cs, err = connectManyFn(pubs, par, func(i int) (*client, error) {
		return dialConnect(t, loginConnect(t, "authp-"+strconv.Itoa(i), benchUser(i), benchPassword), 10*time.Second)
	})
	if err != nil {
		return res, fmt.Errorf("publisher logins: %w", err)
	}
	a := newAckCounter(cs)
	defer a.close()
	topics := make([]string, pubs)
	for i := range topics {
		topics[i] = "bench/" + benchUser(i) + "/t"
	}
	m = startCPU(pid)
	end := time.Now().Add(dur)
	for i := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.blast(i, end, 0, func(i int, _ int64) string { return topics[i] })
		}()
	}
	wg.Wait()
	res.Publishes = float64(a.acked.Load()) / dur.Seconds()
	res.PubCores[0], res.PubCores[1], _ = m.stop()
	return res, nil
}

// authIDs are the row ids of each backend: connect row, publish row.
var authIDs = map[string][2]string{"files": {"10a", "10b"}, "postgres": {"10c", "10d"}, "redis": {"10e", "10f"}}

var authLabels = map[string]string{
	"files":    "vmq_passwd + vmq_acl files",
	"postgres": "vmq_diversity PostgreSQL (crypt, bcrypt cost 6)",
	"redis":    "vmq_diversity Redis (bcrypt cost 6)",
}

// authRows runs scenario 10 against the backend the broker was started with.
func authRows(o opts) []row {
	ids, ok := authIDs[o.auth]
	if !ok {
		return []row{{ID: "10", Scenario: "auth", Failed: fmt.Sprintf("unknown -auth %q: use files, postgres or redis", o.auth)}}
	}
	cl := fmt.Sprintf("auth %s: logins/s, %d distinct users %d at a time (uncached)", authLabels[o.auth], o.authUsers, o.connsPar)
	pl := fmt.Sprintf("auth %s: QoS1 publishes/s through the ACL, %d publishers unpaced %s", authLabels[o.auth], o.pubs, o.overload)
	res, err := authBench(o.t, o.authUsers, o.connsPar, o.pubs, o.overload, o.pid)
	if err != nil {
		return []row{{ID: ids[0], Scenario: cl, Failed: err.Error()}, {ID: ids[1], Scenario: pl, Failed: err.Error()}}
	}
	return []row{
		{ID: ids[0], Scenario: cl, Value: res.Uncached, Unit: "conn/s", BrokerCores: res.ConnCores[0], GenCores: res.ConnCores[1],
			Detail: fmt.Sprintf("same %d clients re-logging in (cached): %s conn/s", o.connsPar, human(res.Cached))},
		{ID: ids[1], Scenario: pl, Value: res.Publishes, Unit: "msg/s", BrokerCores: res.PubCores[0], GenCores: res.PubCores[1]},
	}
}

// checkACL proves publishes are authorized: bench-0 publishes to bench-1's topic (denied),
// then QoS 1 to its own (so the denied one was handled first); bench-1 then publishes to its
// own topic. The subscriber of bench/bench-1/# must see only bench-1's message.
func checkACL(t target) error {
	sub, err := dialConnect(t, loginConnect(t, "authacl-s", benchUser(1), benchPassword), 5*time.Second)
	if err != nil {
		return fmt.Errorf("ACL check login: %w", err)
	}
	defer sub.close()
	if err := sub.subscribe("bench/"+benchUser(1)+"/#", 0, 5*time.Second); err != nil {
		return fmt.Errorf("ACL check subscribe: %w", err)
	}
	got := make(chan string, 8)
	go func() {
		_ = sub.readLoop(func(p packets.Packet) {
			if pub, ok := p.(*packets.Publish); ok {
				select {
				case got <- string(pub.Payload):
				default:
				}
			}
		})
	}()
	p0, err := dialConnect(t, loginConnect(t, "authacl-0", benchUser(0), benchPassword), 5*time.Second)
	if err != nil {
		return fmt.Errorf("ACL check login: %w", err)
	}
	defer p0.close()
	_ = p0.send(&packets.Publish{Topic: "bench/" + benchUser(1) + "/t", Payload: []byte("denied")}, false)
	_ = p0.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: "bench/" + benchUser(0) + "/t", Payload: []byte("own")}, true)
	_ = p0.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	// A PUBACK, or the connection closed (disconnect_on_unauthorized_publish_v3), both mean handled.
	for {
		pk, err := packets.ReadPacket(p0.br, p0.version, maxPacket)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return errors.New("ACL check: no PUBACK within 5 s")
			}
			break
		}
		if a, ok := pk.(*packets.Ack); ok && a.Kind == packets.PUBACK {
			break
		}
	}
	p1, err := dialConnect(t, loginConnect(t, "authacl-1", benchUser(1), benchPassword), 5*time.Second)
	if err != nil {
		return fmt.Errorf("ACL check login: %w", err)
	}
	defer p1.close()
	if err := p1.send(&packets.Publish{Topic: "bench/" + benchUser(1) + "/t", Payload: []byte("allowed")}, true); err != nil {
		return err
	}
	select {
	case m := <-got:
		if m != "allowed" {
			return fmt.Errorf("ACL not enforced: bench-1's subscriber got %q published by bench-0", m)
		}
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("ACL check: bench-1 did not get its own message within 5 s (ACL too strict?)")
	}
}
