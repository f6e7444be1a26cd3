package deploy

import (
	"bytes"
	"errors"
	"fmt"
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
	out, err := helmTemplateErr(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, out)
	}
	return out
}

func helmTemplateErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	helm := tool(t, "helm")
	home := t.TempDir() // helm wants writable config and cache dirs
	env := baseEnv("HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	return run(t, 60*time.Second, env, repoRoot, helm, append([]string{"template", "vmq", chartDir, "--namespace", "mqtt"}, args...)...)
}

// kubeconform validates manifests strictly; skip names kinds without a schema here (CRDs).
func kubeconform(t *testing.T, manifests string, skip ...string) {
	t.Helper()
	kc := tool(t, "kubeconform")
	loc := filepath.Join(schemaDir(t), "{{ .ResourceKind }}{{ .KindSuffix }}.json")
	f := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(f, []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-strict", "-summary", "-schema-location", loc}
	if len(skip) > 0 {
		args = append(args, "-skip", strings.Join(skip, ","))
	}
	out, err := run(t, 60*time.Second, baseEnv(), repoRoot, kc, append(args, f)...)
	want := fmt.Sprintf("Invalid: 0, Errors: 0, Skipped: %d", len(skip))
	if err != nil || !strings.Contains(out, want) {
		t.Fatalf("kubeconform (want %q): %v\n%s", want, err, out)
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
		for _, p := range get(s, "spec", "ports").([]any) {
			if get(p, "port") == 8888 {
				t.Errorf("client service %v publishes 8888 (HTTP API, metrics): only the api service may", name)
			}
		}
	}
}

// secretCookie returns the cookie of the chart's Secret.
func secretCookie(t *testing.T, out string) string {
	t.Helper()
	for _, s := range objects(t, out)["Secret"] {
		if c, ok := get(s, "stringData", "cookie").(string); ok {
			return c
		}
	}
	t.Fatal("no cookie in the chart's Secret")
	return ""
}

// Without a cookie the chart generates a random one (not a well-known default) per install.
func TestHelmRandomCookie(t *testing.T) {
	a, b := secretCookie(t, helmTemplate(t)), secretCookie(t, helmTemplate(t))
	if len(a) != 32 || a == b || a == "change-me" || a == "vmq" {
		t.Fatalf("cookies %q and %q: want 32 random characters, different per install", a, b)
	}
	if c := secretCookie(t, helmTemplate(t, "--set", "cookie=mine")); c != "mine" {
		t.Fatalf("cookie=mine gave %q", c)
	}
}

// values.schema.json: a key neither this chart nor VerneMQ's knows is an error, not ignored.
func TestHelmSchemaRejectsUnknownKeys(t *testing.T) {
	for _, set := range []string{"persistentVolume.sizee=5Gi", "bogus=1", "service.mqtt.prot=1", "statefulset.podManagementPolicy=Sometimes"} {
		out, err := helmTemplateErr(t, "--set", set)
		if err == nil || !strings.Contains(out, "schema") {
			t.Errorf("--set %s: rendered without a schema error (err %v):\n%.300s", set, err, out)
		}
	}
}

// byName returns the object of kind named name.
func byName(t *testing.T, objs map[string][]map[string]any, kind, name string) map[string]any {
	t.Helper()
	for _, o := range objs[kind] {
		if get(o, "metadata", "name") == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

// envOf maps a container's env names to their entries.
func envOf(c any) map[string]any {
	m := map[string]any{}
	for _, e := range get(c, "env").([]any) {
		m[get(e, "name").(string)] = e
	}
	return m
}

// A values file written for VerneMQ's official chart, every key set, renders with each
// setting in its place; kubeconform accepts the result (the ServiceMonitor CRD has no schema here).
func TestHelmOfficialValues(t *testing.T) {
	out := helmTemplate(t, "-f", "test/deploy/testdata/official-values.yaml")
	kubeconform(t, out, "ServiceMonitor")
	objs := objects(t, out)
	want := func(what string, got, exp any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Errorf("%s = %v, want %v", what, got, exp)
		}
	}
	// fullnameOverride / nameOverride
	sts := byName(t, objs, "StatefulSet", "prod-mqtt")
	want("selector name label (nameOverride)", get(sts, "spec", "selector", "matchLabels", "app.kubernetes.io/name"), "mqttbroker")
	want("replicas", get(sts, "spec", "replicas"), 5)
	want("serviceName", get(sts, "spec", "serviceName"), "prod-mqtt-headless")
	// statefulset.*
	want("podManagementPolicy", get(sts, "spec", "podManagementPolicy"), "Parallel")
	want("updateStrategy", get(sts, "spec", "updateStrategy", "type"), "OnDelete")
	want("statefulset.labels", get(sts, "metadata", "labels", "sts-label"), "a")
	want("statefulset.annotations", get(sts, "metadata", "annotations", "sts.example/owner"), "ops")
	pod := get(sts, "spec", "template")
	want("podLabels", get(pod, "metadata", "labels", "pod-label"), "b")
	want("podAnnotations", get(pod, "metadata", "annotations", "prometheus.io/scrape"), "true")
	ps := get(pod, "spec")
	want("terminationGracePeriodSeconds", get(ps, "terminationGracePeriodSeconds"), 120)
	want("imagePullSecrets", get(ps, "imagePullSecrets", 0, "name"), "my-image-pull-secret")
	want("serviceAccountName (rbac.serviceAccount.name)", get(ps, "serviceAccountName"), "mqtt-sa")
	want("securityContext.fsGroup", get(ps, "securityContext", "fsGroup"), 10000)
	want("securityContext.runAsNonRoot kept", get(ps, "securityContext", "runAsNonRoot"), true)
	want("nodeSelector", get(ps, "nodeSelector", "pool"), "mqtt")
	want("tolerations", get(ps, "tolerations", 0, "key"), "dedicated")
	if get(ps, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution") == nil {
		t.Errorf("podAntiAffinity hard not rendered")
	}
	c := get(ps, "containers", 0)
	want("image", get(c, "image"), "registry.example/private/vernemq-go:2.2.0")
	want("pullPolicy", get(c, "imagePullPolicy"), "Always")
	want("containerSecurityContext", get(c, "securityContext", "readOnlyRootFilesystem"), false)
	want("resources", get(c, "resources", "limits", "memory"), "2Gi")
	want("livenessProbe.initialDelaySeconds", get(c, "livenessProbe", "initialDelaySeconds"), 91)
	want("livenessProbe.failureThreshold", get(c, "livenessProbe", "failureThreshold"), 4)
	want("readinessProbe.periodSeconds", get(c, "readinessProbe", "periodSeconds"), 12)
	want("readinessProbe.successThreshold", get(c, "readinessProbe", "successThreshold"), 2)
	want("readinessProbe path", get(c, "readinessProbe", "httpGet", "path"), "/health/ping")
	want("lifecycle", get(c, "lifecycle", "preStop", "exec", "command", 2), "sleep 5")
	// additionalEnv and envFrom; the user's cookie replaces the chart's
	env := envOf(c)
	for _, k := range []string{"REGISTER", "PUBLISH", "SUBSCRIBE", "UNSUBSCRIBE"} {
		want("additionalEnv netsplit "+k, get(env["DOCKER_VERNEMQ_ALLOW_"+k+"_DURING_NETSPLIT"], "value"), "on")
	}
	want("cookie from the user's Secret", get(env["DOCKER_VERNEMQ_DISTRIBUTED_COOKIE"], "valueFrom", "secretKeyRef", "name"), "vernemq-cookie")
	n := 0
	for _, e := range get(c, "env").([]any) {
		if get(e, "name") == "DOCKER_VERNEMQ_DISTRIBUTED_COOKIE" {
			n++
		}
	}
	want("cookie variables", n, 1)
	want("envFrom", get(c, "envFrom", 0, "secretRef", "name"), "vernemq-users")
	// ports, volumes: secretMounts, extraVolumes/Mounts, certificates, acl, headlessService.customPorts
	ports := map[string]any{}
	for _, p := range get(c, "ports").([]any) {
		ports[fmt.Sprint(get(p, "name"))] = get(p, "containerPort")
	}
	want("mqtts container port", ports["mqtts"], 8883)
	want("wss container port", ports["wss"], 8443)
	want("custom container port", ports["custom-port1"], 1234)
	mounts := map[string]string{}
	for _, m := range get(c, "volumeMounts").([]any) {
		mounts[fmt.Sprint(get(m, "mountPath"))] = fmt.Sprint(get(m, "name"))
	}
	want("secretMounts mount", mounts["/etc/ssl/custom"], "vernemq-certificates")
	want("extraVolumeMounts", mounts["/vernemq/share/lua"], "plugin-scripts")
	want("certificates mount", mounts["/etc/ssl/vernemq"], "listener-certificates")
	want("acl mount", mounts["/vernemq/etc/vmq.acl"], "config")
	vols := map[string]any{}
	for _, v := range get(ps, "volumes").([]any) {
		vols[fmt.Sprint(get(v, "name"))] = v
	}
	want("secretMounts volume", get(vols["vernemq-certificates"], "secret", "secretName"), "vernemq-certificates-secret")
	if get(vols["plugin-scripts"], "emptyDir") == nil {
		t.Errorf("extraVolumes not rendered: %v", vols)
	}
	want("certificates volume", get(vols["listener-certificates"], "secret", "secretName"), "prod-mqtt-certs")
	certs := byName(t, objs, "Secret", "prod-mqtt-certs")
	want("certificates Secret type", get(certs, "type"), "kubernetes.io/tls")
	if !strings.Contains(fmt.Sprint(get(certs, "stringData", "ca.crt")), "MIIBca") {
		t.Errorf("certificates.ca not in the Secret")
	}
	// persistentVolume.*
	vct := get(sts, "spec", "volumeClaimTemplates", 0)
	want("persistentVolume.size", get(vct, "spec", "resources", "requests", "storage"), "50Gi")
	want("persistentVolume.storageClass", get(vct, "spec", "storageClassName"), "fast-ssd")
	want("persistentVolume.annotations", get(vct, "metadata", "annotations", "backup.example/policy"), "daily")
	// conf: TLS and WSS listeners with the certificates
	cm := byName(t, objs, "ConfigMap", "prod-mqtt")
	conf := fmt.Sprint(get(cm, "data", "vernemq.conf.local"))
	for _, l := range []string{"listener.ssl.default = ###IPADDRESS###:8883", "listener.ssl.certfile = /etc/ssl/vernemq/tls.crt",
		"listener.ssl.cafile = /etc/ssl/vernemq/ca.crt", "listener.wss.default = ###IPADDRESS###:8443", "listener.wss.keyfile = /etc/ssl/vernemq/tls.key"} {
		if !strings.Contains(conf, l+"\n") {
			t.Errorf("conf lacks %q:\n%s", l, conf)
		}
	}
	// acl map
	want("acl content", get(cm, "data", "vmq.acl"), "user alice\ntopic readwrite sensors/#\n")
	want("acl labels", get(cm, "metadata", "labels", "acl-label"), "c")
	want("acl annotations", get(cm, "metadata", "annotations", "acl.example/rev"), "7")
	// service.*
	svc := byName(t, objs, "Service", "prod-mqtt")
	want("service.type", get(svc, "spec", "type"), "LoadBalancer")
	want("loadBalancerIP", get(svc, "spec", "loadBalancerIP"), "10.1.2.4")
	want("loadBalancerSourceRanges", get(svc, "spec", "loadBalancerSourceRanges", 0), "10.0.0.0/8")
	want("externalTrafficPolicy", get(svc, "spec", "externalTrafficPolicy"), "Cluster")
	want("sessionAffinity", get(svc, "spec", "sessionAffinity"), "None")
	want("externalIPs", get(svc, "spec", "externalIPs", 0), "192.0.2.10")
	want("service.labels", get(svc, "metadata", "labels", "team"), "iot")
	want("service.annotations", get(svc, "metadata", "annotations", "service.beta.kubernetes.io/aws-load-balancer-type"), "nlb")
	sp := map[string]any{}
	for _, p := range get(svc, "spec", "ports").([]any) {
		sp[fmt.Sprint(get(p, "name"))] = get(p, "port")
	}
	want("client service ports", fmt.Sprint(sp), "map[mqtt:11883 mqtts:8883 ws:8080 wss:8443]")
	api := byName(t, objs, "Service", "prod-mqtt-api")
	want("api port", get(api, "spec", "ports", 0, "port"), 8888)
	want("api targetPort", get(api, "spec", "ports", 0, "targetPort"), "http")
	want("api annotations", get(api, "metadata", "annotations", "api.example/owner"), "ops")
	hl := byName(t, objs, "Service", "prod-mqtt-headless")
	want("headless customPorts", get(hl, "spec", "ports", 4, "name"), "custom-port1")
	// ingress.*
	ing := byName(t, objs, "Ingress", "prod-mqtt")
	want("ingressClassName", get(ing, "spec", "ingressClassName"), "nginx")
	want("ingress host", get(ing, "spec", "rules", 0, "host"), "mqtt.example.com")
	want("ingress path", get(ing, "spec", "rules", 0, "http", "paths", 0, "path"), "/mqtt")
	want("ingress pathType", get(ing, "spec", "rules", 0, "http", "paths", 0, "pathType"), "Prefix")
	want("ingress backend", get(ing, "spec", "rules", 0, "http", "paths", 0, "backend", "service", "port", "number"), 8080)
	want("ingress tls", get(ing, "spec", "tls", 0, "secretName"), "mqtt-ws-tls")
	want("ingress labels", get(ing, "metadata", "labels", "ingress.example/tier"), "edge")
	want("ingress annotations", get(ing, "metadata", "annotations", "nginx.ingress.kubernetes.io/proxy-read-timeout"), "3600")
	// serviceMonitor.*
	sm := byName(t, objs, "ServiceMonitor", "prod-mqtt")
	want("serviceMonitor labels", get(sm, "metadata", "labels", "release"), "kube-prometheus")
	want("serviceMonitor port", get(sm, "spec", "endpoints", 0, "port"), "http")
	want("serviceMonitor selects the headless service", get(sm, "spec", "selector", "matchLabels", "app.kubernetes.io/component"),
		get(hl, "metadata", "labels", "app.kubernetes.io/component"))
	// pdb.minAvailable
	pdb := byName(t, objs, "PodDisruptionBudget", "prod-mqtt")
	want("pdb.minAvailable", get(pdb, "spec", "minAvailable"), 3)
	if get(pdb, "spec", "maxUnavailable") != nil {
		t.Errorf("pdb has both minAvailable and maxUnavailable")
	}
	// the chart's cookie Secret is not made when the user's env brings the cookie
	for _, s := range objs["Secret"] {
		if get(s, "stringData", "cookie") != nil {
			t.Errorf("a chart cookie beside the user's DOCKER_VERNEMQ_DISTRIBUTED_COOKIE")
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

// The conf rendered from VerneMQ-chart values (TLS and WSS listeners from certificates,
// the netsplit switches from additionalEnv) goes through the entrypoint and passes the check.
func TestHelmOfficialConfThroughEntrypoint(t *testing.T) {
	out := helmTemplate(t, "-f", "test/deploy/testdata/official-values.yaml")
	local, _ := get(byName(t, objects(t, out), "ConfigMap", "prod-mqtt"), "data", "vernemq.conf.local").(string)
	// The certificates Secret, mounted at /etc/ssl/vernemq in the pod: a real key pair here.
	openssl := tool(t, "openssl")
	ssl := t.TempDir()
	if o, err := run(t, 30*time.Second, baseEnv(), ssl, openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
		"ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=mqtt.example", "-keyout", "tls.key", "-out", "tls.crt"); err != nil {
		t.Fatalf("openssl: %v\n%s", err, o)
	}
	copyFile(t, filepath.Join(ssl, "tls.crt"), filepath.Join(ssl, "ca.crt"))
	local = strings.ReplaceAll(local, "/etc/ssl/vernemq/", ssl+"/")
	home := imageHome(t, local)
	dryRun(t, home, append(dirsEnv(home),
		"VERNEMQ_IP_ADDRESS=127.0.0.1",
		"DOCKER_VERNEMQ_DISCOVERY_KUBERNETES=1",
		"MY_POD_NAME=prod-mqtt-0",
		"DOCKER_VERNEMQ_KUBERNETES_NAMESPACE=mqtt",
		"DOCKER_VERNEMQ_KUBERNETES_SERVICE=prod-mqtt-headless",
		"DOCKER_VERNEMQ_DISTRIBUTED_COOKIE=from-users-secret",
		"DOCKER_VERNEMQ_ALLOW_REGISTER_DURING_NETSPLIT=on",
		"DOCKER_VERNEMQ_ALLOW_PUBLISH_DURING_NETSPLIT=on",
	)...)
	conf := filepath.Join(home, "etc/vernemq.conf")
	kv := activeLines(t, conf)
	if kv["allow_register_during_netsplit"] != "on" || kv["distributed_cookie"] != "from-users-secret" ||
		kv["listener.wss.default"] != "127.0.0.1:8443" || kv["listener.ssl.default"] != "127.0.0.1:8883" {
		t.Errorf("additionalEnv or listeners not in the conf: %v", kv)
	}
	if out, err := configCheck(t, conf); err != nil {
		t.Fatalf("vernemq config check refused the conf of VerneMQ-chart values: %v\n%s", err, out)
	}
}
