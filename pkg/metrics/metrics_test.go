package metrics

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// find returns the value of name with exactly labels, and whether it exists.
func find(samples []Sample, name string, labels map[string]string) (float64, bool) {
	for _, s := range samples {
		if s.Name != name || len(s.Labels) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			if s.Labels[k] != v {
				match = false
			}
		}
		if match {
			return s.Value, true
		}
	}
	return 0, false
}

// Every label combination VerneMQ exports exists at zero before anything happened.
func TestLabelCombinationsAtZero(t *testing.T) {
	reg := NewRegistry()
	NewBroker(reg)
	snap := reg.Snapshot()
	v5 := func(rc string) map[string]string { return map[string]string{"mqtt_version": "5", "reason_code": rc} }
	v4 := map[string]string{"mqtt_version": "4"}
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"mqtt_connect_received", v4},
		{"mqtt_connect_received", map[string]string{"mqtt_version": "5"}},
		{"mqtt_puback_sent", v4},
		{"mqtt_puback_sent", v5("no_matching_subscribers")},
		{"mqtt_puback_received", v5("payload_format_invalid")},
		{"mqtt_pubrec_sent", v5("quota_exceeded")},
		{"mqtt_pubrel_sent", v5("packet_id_not_found")},
		{"mqtt_pubcomp_received", v5("success")},
		{"mqtt_disconnect_received", v5("normal_disconnect")},
		{"mqtt_disconnect_received", v5("disconnect_with_will_msg")},
		{"mqtt_disconnect_received", v4},
		{"mqtt_disconnect_sent", v5("session_taken_over")},
		{"mqtt_disconnect_sent", v5("wildcard_subs_not_supported")},
		{"mqtt_connack_sent", v5("banned")},
		{"mqtt_connack_sent", map[string]string{"mqtt_version": "4", "return_code": "success"}},
		{"mqtt_connack_sent", map[string]string{"mqtt_version": "4", "return_code": "not_authorized"}},
		{"mqtt_auth_sent", v5("continue_authentication")},
		{"mqtt_auth_received", v5("reauthenticate")},
		{"mqtt_connack_accepted_sent", v4},
		{"mqtt_connack_bad_credentials_sent", v4},
		{"client_keepalive_expired", v4},
		{"client_expired", nil},
		{"total_active_connections", nil},
		{"router_memory", nil},
		{"cluster_bytes_dropped", nil},
		{"netsplit_detected", nil},
		{"retain_memory", nil},
	} {
		v, ok := find(snap, c.name, c.labels)
		if !ok || v != 0 {
			t.Errorf("%s%v = %v (present %v), want 0 from the start", c.name, c.labels, v, ok)
		}
	}
	count := map[string]int{}
	for _, s := range snap {
		if s.Labels["mqtt_version"] == "5" && s.Labels["reason_code"] != "" {
			count[s.Name]++
		}
	}
	// VerneMQ's lists: 9 PUBACK/PUBREC codes, 2 PUBREL/PUBCOMP, 22 CONNACK, 14 and 28 DISCONNECT, 3 AUTH.
	for name, want := range map[string]int{"mqtt_puback_sent": 9, "mqtt_pubrec_received": 9, "mqtt_pubrel_received": 2,
		"mqtt_pubcomp_sent": 2, "mqtt_connack_sent": 22, "mqtt_disconnect_received": 14, "mqtt_disconnect_sent": 28,
		"mqtt_auth_sent": 3, "mqtt_auth_received": 3} {
		if count[name] != want {
			t.Errorf("%s has %d reason_code series, want %d", name, count[name], want)
		}
	}
}

func TestByReasonCounts(t *testing.T) {
	reg := NewRegistry()
	b := NewBroker(reg)
	b.Proto(5).PubackSent.Inc(packets.NoMatchingSubscribers)
	b.Proto(5).PubackSent.Inc(packets.ServerBusy) // outside VerneMQ's list: its own series on first use
	b.Proto(4).PubackSent.Inc(0)
	b.Proto(3).PubackSent.Inc(0) // MQTT 3.1 counts as mqtt_version="4", as in VerneMQ
	b.Proto(4).ConnackSent.Inc(packets.ConnRefusedBadCredentials)
	b.Proto(4).AuthReceived.Inc(0) // 3.1.1 has no AUTH: a no-op, not a panic
	b.Proto(5).DisconnectSent.Inc(packets.SessionTakenOver)
	b.SessionExpired.Inc()
	b.ActiveConnections.Add(2)
	b.ActiveWSConnections.Add(1)
	snap := reg.Snapshot()
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mqtt_puback_sent", map[string]string{"mqtt_version": "5", "reason_code": "no_matching_subscribers"}, 1},
		{"mqtt_puback_sent", map[string]string{"mqtt_version": "5", "reason_code": "server_busy"}, 1},
		{"mqtt_puback_sent", map[string]string{"mqtt_version": "5", "reason_code": "success"}, 0},
		{"mqtt_puback_sent", map[string]string{"mqtt_version": "4"}, 2},
		{"mqtt_connack_sent", map[string]string{"mqtt_version": "4", "return_code": "bad_username_or_password"}, 1},
		{"mqtt_connack_bad_credentials_sent", map[string]string{"mqtt_version": "4"}, 1},
		{"mqtt_connack_accepted_sent", map[string]string{"mqtt_version": "4"}, 0},
		{"mqtt_disconnect_sent", map[string]string{"mqtt_version": "5", "reason_code": "session_taken_over"}, 1},
		{"client_expired", nil, 1},
		{"total_active_connections", nil, 3},
	} {
		if v, ok := find(snap, c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
}

func TestSystemMetrics(t *testing.T) {
	reg := NewRegistry()
	b := NewBroker(reg)
	b.RouterMemory.Func(func() int64 { return 1000 })
	b.RetainMemory.Set(24)
	RegisterSystem(reg, b.RouterMemory, b.RetainMemory)
	// Some garbage and some CPU, so the counters have something to count.
	var keep [][]byte
	for i := 0; i < 2000; i++ {
		keep = append(keep, make([]byte, 4096))
		if len(keep) > 10 {
			keep = keep[:0]
		}
	}
	runtime.GC()
	snap := reg.Snapshot()
	get := func(name string) float64 {
		v, ok := find(snap, name, nil)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		return v
	}
	for _, name := range []string{"system_gc_count", "system_words_reclaimed_by_gc", "system_process_count",
		"system_runtime", "system_reductions", "vm_memory_total", "vm_memory_processes", "vm_memory_processes_used",
		"vm_memory_system", "system_io_in"} {
		if get(name) <= 0 {
			t.Errorf("%s = %v, want > 0", name, get(name))
		}
	}
	if get("vm_memory_processes_used") > get("vm_memory_processes") || get("vm_memory_processes") > get("vm_memory_total") {
		t.Errorf("vm_memory: used %v > processes %v or > total %v", get("vm_memory_processes_used"),
			get("vm_memory_processes"), get("vm_memory_total"))
	}
	if get("vm_memory_ets") != 1024 {
		t.Errorf("vm_memory_ets = %v, want router 1000 + retain 24", get("vm_memory_ets"))
	}
	if u := get("system_utilization"); u < 0 || u > 100 {
		t.Errorf("system_utilization = %v, want a percentage", u)
	}
	n := 2 * runtime.GOMAXPROCS(0)
	for i := 1; i <= n; i++ {
		if u := get("system_utilization_scheduler_" + strconv.Itoa(i)); u < 0 || u > 100 {
			t.Errorf("scheduler %d = %v", i, u)
		}
	}
	if _, ok := find(snap, "system_utilization_scheduler_"+strconv.Itoa(n+1), nil); ok {
		t.Errorf("more than 2 x GOMAXPROCS scheduler series")
	}
	if get("system_run_queue") < 0 || get("vm_memory_atom") != 0 {
		t.Errorf("run queue %v, atom %v", get("system_run_queue"), get("vm_memory_atom"))
	}
}
