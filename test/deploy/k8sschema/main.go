// Command k8sschema turns a Kubernetes OpenAPI v2 document (swagger.json) into the
// standalone, strict JSON schemas kubeconform reads ({kind}-{group}-{version}.json),
// as yannh's openapi2jsonschema does. It exists because the usual schema repository
// is on GitHub, which this project's machines cannot reach, while the Go module
// k8s.io/cli-runtime ships a full Kubernetes swagger.json (artifacts/openapi).
//
//	go run ./test/deploy/k8sschema -swagger swagger.json -out DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const refPrefix = "#/definitions/"

type gvk struct{ Group, Version, Kind string }

func main() {
	swagger := flag.String("swagger", "", "Kubernetes OpenAPI v2 swagger.json")
	out := flag.String("out", "", "directory for the schemas")
	flag.Parse()
	if *swagger == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: k8sschema -swagger swagger.json -out DIR")
		os.Exit(2)
	}
	n, err := convert(*swagger, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8sschema:", err)
		os.Exit(1)
	}
	fmt.Printf("k8sschema: wrote %d schemas to %s\n", n, *out)
}

func convert(swaggerPath, out string) (int, error) {
	raw, err := os.ReadFile(swaggerPath)
	if err != nil {
		return 0, fmt.Errorf("%w (pass the swagger.json of k8s.io/cli-runtime/artifacts/openapi)", err)
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return 0, fmt.Errorf("%s: %w", swaggerPath, err)
	}
	if len(doc.Definitions) == 0 {
		return 0, fmt.Errorf("%s has no definitions: not an OpenAPI v2 document", swaggerPath)
	}
	defs := map[string]any{}
	for name, d := range doc.Definitions {
		defs[name] = strict(special(name, d))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, err
	}
	names := make([]string, 0, len(doc.Definitions))
	for name := range doc.Definitions {
		names = append(names, name)
	}
	sort.Strings(names)
	count := 0
	for _, name := range names {
		for _, k := range kinds(doc.Definitions[name]) {
			schema := standalone(name, k, defs)
			b, err := json.MarshalIndent(schema, "", "  ")
			if err != nil {
				return count, err
			}
			if err := os.WriteFile(filepath.Join(out, fileName(k)), b, 0o644); err != nil {
				return count, err
			}
			count++
		}
	}
	return count, nil
}

// fileName follows kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json.
func fileName(k gvk) string {
	suffix := ""
	if k.Group != "" {
		suffix = "-" + strings.ToLower(strings.Split(k.Group, ".")[0])
	}
	return strings.ToLower(k.Kind) + suffix + "-" + strings.ToLower(k.Version) + ".json"
}

func kinds(d map[string]any) []gvk {
	list, _ := d["x-kubernetes-group-version-kind"].([]any)
	var out []gvk
	for _, e := range list {
		m, _ := e.(map[string]any)
		g, _ := m["group"].(string)
		v, _ := m["version"].(string)
		k, _ := m["kind"].(string)
		if v != "" && k != "" {
			out = append(out, gvk{g, v, k})
		}
	}
	return out
}

// special gives the string-or-number types their real JSON shape.
func special(name string, d map[string]any) map[string]any {
	switch {
	case strings.HasSuffix(name, "intstr.IntOrString"):
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	case strings.HasSuffix(name, "resource.Quantity"):
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	}
	return d
}

// strict forbids unknown fields (typos in a chart are the errors worth catching)
// and allows null for optional fields, as helm output often has them.
func strict(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			out[k] = strict(e)
		}
		if props, ok := out["properties"].(map[string]any); ok {
			if _, set := out["additionalProperties"]; !set {
				out["additionalProperties"] = false
			}
			req := map[string]bool{}
			if r, ok := out["required"].([]any); ok {
				for _, e := range r {
					s, _ := e.(string)
					req[s] = true
				}
			}
			for k, p := range props {
				if pm, ok := p.(map[string]any); ok && !req[k] {
					props[k] = nullable(pm)
				}
			}
		}
		if f, _ := out["format"].(string); f == "int-or-string" {
			delete(out, "format")
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = strict(e)
		}
		return out
	}
	return v
}

func nullable(p map[string]any) map[string]any {
	if t, ok := p["type"].(string); ok {
		p["type"] = []any{t, "null"}
		return p
	}
	if _, ok := p["$ref"]; ok {
		return map[string]any{"oneOf": []any{p, map[string]any{"type": "null"}}}
	}
	return p
}

// standalone is one kind's schema with only the definitions it reaches.
func standalone(name string, k gvk, defs map[string]any) map[string]any {
	need := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if r, ok := t["$ref"].(string); ok {
				n := strings.TrimPrefix(r, refPrefix)
				if !need[n] {
					need[n] = true
					walk(defs[n])
				}
			}
			for _, e := range t {
				walk(e)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	need[name] = true
	walk(defs[name])
	sub := map[string]any{}
	for n := range need {
		sub[n] = defs[n]
	}
	apiVersion := k.Version
	if k.Group != "" {
		apiVersion = k.Group + "/" + k.Version
	}
	// The kind and apiVersion fields must name exactly this kind.
	return map[string]any{
		"$schema":     "http://json-schema.org/draft-07/schema#",
		"definitions": sub,
		"allOf": []any{
			map[string]any{"$ref": refPrefix + name},
			map[string]any{
				"properties": map[string]any{
					"kind":       map[string]any{"enum": []any{k.Kind}},
					"apiVersion": map[string]any{"enum": []any{apiVersion}},
				},
				"required": []any{"kind", "apiVersion"},
			},
		},
	}
}
