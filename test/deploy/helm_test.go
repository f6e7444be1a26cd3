package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const chartDir = "scripts/helm/vernemq"

// schemaDir holds the strict Kubernetes schemas made by install-deploy-deps.sh.
func schemaDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(toolsDir(), "k8s-schemas")
	if _, err := os.Stat(filepath.Join(d, "statefulset-apps-v1.json")); err != nil {
		missing(t, "no Kubernetes JSON schemas in "+d)
	}
	return d
}

func helmTemplate(t *testing.T, args ...string) string {
	t.Helper()
	helm := tool(t, "helm")
	home := t.TempDir() // helm wants writable config and cache dirs
	env := baseEnv("HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := run(t, 60*time.Second, env, repoRoot, helm, append([]string{"template", "vmq", chartDir, "--namespace", "mqtt"}, args...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, out)
	}
	return out
}

func kubeconform(t *testing.T, manifests string) {
	t.Helper()
	kc := tool(t, "kubeconform")
	loc := filepath.Join(schemaDir(t), "{{ .ResourceKind }}{{ .KindSuffix }}.json")
	f := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(f, []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, 60*time.Second, baseEnv(), repoRoot, kc, "-strict", "-summary", "-schema-location", loc, f)
	if err != nil || !strings.Contains(out, "Invalid: 0, Errors: 0, Skipped: 0") {
		t.Fatalf("kubeconform: %v\n%s", err, out)
	}
}

// objects decodes a multi-document YAML stream by kind.
func objects(t *testing.T, manifests string) map[string][]map[string]any {
	t.Helper()
	byKind := map[string][]map[string]any{}
	dec := yaml.NewDecoder(bytes.NewBufferString(manifests))
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML: %v", err)
		}
		if o == nil {
			continue
		}
		k, _ := o["kind"].(string)
		byKind[k] = append(byKind[k], o)
	}
	return byKind
}

// get walks maps and lists: get(o, "spec", "template", 0, ...).
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestHelmChartValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"defaults", nil},
		{"tls-users-noPersistence", []string{"--set", "tls.enabled=true", "--set", "tls.requireCertificate=true",
			"--set", "users.alice=pw1", "--set", "persistence.enabled=false", "--set", "podAntiAffinity=hard",
			"--set", "service.type=LoadBalancer", "--set", "config.max_offline_messages=20000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := helmTemplate(t, tc.args...)
			kubeconform(t, out)
			objs := objects(t, out)
			for _, k := range []string{"StatefulSet", "ConfigMap", "Secret", "PodDisruptionBudget", "ServiceAccount", "Role", "RoleBinding"} {
				if len(objs[k]) != 1 {
					t.Errorf("%d %s objects rendered, want 1", len(objs[k]), k)
				}
			}
			if len(objs["Service"]) != 2 {
				t.Fatalf("%d Services rendered, want a headless and a client one", len(objs["Service"]))
			}
			checkStatefulSet(t, objs, tc.name == "defaults")
			checkServices(t, objs)
		})
	}
}

func checkStatefulSet(t *testing.T, objs map[string][]map[string]any, persistent bool) {
	t.Helper()
	sts := objs["StatefulSet"][0]
	c := get(sts, "spec", "template", "spec", "containers", 0)
	if p := get(c, "readinessProbe", "httpGet", "path"); p != "/health/ping" {
		t.Errorf("readiness path %v, want /health/ping", p)
	}
	if p := get(c, "readinessProbe", "httpGet", "port"); p != "http" {
		t.Errorf("readiness port %v, want the http port", p)
	}
	cmd, _ := get(c, "lifecycle", "preStop", "exec", "command").([]any)
	if len(cmd) != 2 || cmd[1] != "leave-if-scaled-down" {
		t.Errorf("preStop %v, want the entrypoint's leave-if-scaled-down", cmd)
	}
	if get(sts, "spec", "serviceName") != "vmq-vernemq-headless" {
		t.Errorf("serviceName %v, want the headless service", get(sts, "spec", "serviceName"))
	}
	vct := get(sts, "spec", "volumeClaimTemplates", 0, "metadata", "name")
	if persistent && vct != "data" {
		t.Errorf("no volumeClaimTemplate data for platform_data_dir")
	}
	if !persistent && vct != nil {
		t.Errorf("persistence.enabled=false still renders a volumeClaimTemplate")
	}
	mounts, _ := get(c, "volumeMounts").([]any)
	var paths []string
	for _, m := range mounts {
		paths = append(paths, get(m, "mountPath").(string))
	}
	if !strings.Contains(strings.Join(paths, " "), "/vernemq/data") {
		t.Errorf("platform_data_dir /vernemq/data not mounted: %v", paths)
	}
	if get(sts, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Errorf("pods may run as root")
	}
}

func checkServices(t *testing.T, objs map[string][]map[string]any) {
	t.Helper()
	for _, s := range objs["Service"] {
		name := get(s, "metadata", "name")
		if get(s, "spec", "clusterIP") == "None" {
			if get(s, "spec", "publishNotReadyAddresses") != true {
				t.Errorf("headless service %v hides pods that are not ready: peers cannot find each other", name)
			}
			continue
		}
		if get(s, "spec", "sessionAffinity") != "ClientIP" {
			t.Errorf("client service %v without ClientIP affinity", name)
		}
	}
}

// The chart's vernemq.conf goes through the entrypoint as in a pod and must pass the broker's check.
func TestHelmConfThroughEntrypoint(t *testing.T) {
	out := helmTemplate(t, "--set", "config.max_offline_messages=20000", "--set", "service.ws.enabled=false")
	cms := objects(t, out)["ConfigMap"]
	if len(cms) != 1 {
		t.Fatalf("%d ConfigMaps rendered", len(cms))
	}
	local, _ := get(cms[0], "data", "vernemq.conf.local").(string)
	if !strings.Contains(local, "max_offline_messages = 20000") || strings.Contains(local, "listener.ws.default") {
		t.Fatalf("values not rendered into vernemq.conf:\n%s", local)
	}
	home := imageHome(t, local)
	dryRun(t, home, append(dirsEnv(home),
		"VERNEMQ_IP_ADDRESS=127.0.0.1",
		"DOCKER_VERNEMQ_DISCOVERY_KUBERNETES=1",
		"MY_POD_NAME=vmq-vernemq-0",
		"DOCKER_VERNEMQ_KUBERNETES_NAMESPACE=mqtt",
		"DOCKER_VERNEMQ_KUBERNETES_SERVICE=vmq-vernemq-headless",
		"DOCKER_VERNEMQ_DISTRIBUTED_COOKIE=from-secret",
		"DOCKER_VERNEMQ_USER_alice=pw1",
	)...)
	conf := filepath.Join(home, "etc/vernemq.conf")
	kv := activeLines(t, conf)
	if kv["nodename"] != "VerneMQ@vmq-vernemq-0.vmq-vernemq-headless.mqtt.svc.cluster.local" || kv["distributed_cookie"] != "from-secret" {
		t.Errorf("pod identity not rendered: nodename %q cookie %q", kv["nodename"], kv["distributed_cookie"])
	}
	if kv["listener.vmq.clustering"] != "127.0.0.1:44053" {
		t.Errorf("###IPADDRESS### not replaced: listener.vmq.clustering = %q", kv["listener.vmq.clustering"])
	}
	if out, err := configCheck(t, conf); err != nil {
		t.Fatalf("vernemq config check refused the chart's conf: %v\n%s", err, out)
	}
}
