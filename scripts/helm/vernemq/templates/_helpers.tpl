{{- define "vernemq.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vernemq.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vernemq.headless" -}}
{{- printf "%s-headless" (include "vernemq.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vernemq.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vernemq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vernemq.labels" -}}
{{ include "vernemq.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* rbac.serviceAccount (VerneMQ's chart) with this chart's older serviceAccount over it. */}}
{{- define "vernemq.sa" -}}
{{- toYaml (mergeOverwrite (dict "create" true "name" "") (deepCopy (.Values.rbac.serviceAccount | default dict)) (deepCopy (.Values.serviceAccount | default dict))) -}}
{{- end -}}

{{- define "vernemq.serviceAccountName" -}}
{{- $sa := include "vernemq.sa" . | fromYaml -}}
{{- if $sa.create -}}
{{- default (include "vernemq.fullname" .) $sa.name -}}
{{- else -}}
{{- default "default" $sa.name -}}
{{- end -}}
{{- end -}}

{{/* persistentVolume with this chart's older persistence keys over it. */}}
{{- define "vernemq.pv" -}}
{{- toYaml (mergeOverwrite (deepCopy .Values.persistentVolume) (deepCopy (.Values.persistence | default dict))) -}}
{{- end -}}

{{/* The ACL as {enabled, content, labels, annotations}; a string value is the content. */}}
{{- define "vernemq.acl" -}}
{{- if kindIs "string" .Values.acl -}}
{{- toYaml (dict "enabled" true "content" .Values.acl) -}}
{{- else -}}
{{- toYaml .Values.acl -}}
{{- end -}}
{{- end -}}

{{/* Port of the ssl listener, and whether it is on. */}}
{{- define "vernemq.sslPort" -}}
{{- .Values.tls.port | default .Values.service.mqtts.port -}}
{{- end -}}
{{- define "vernemq.sslEnabled" -}}
{{- if or .Values.tls.enabled .Values.service.mqtts.enabled -}}true{{- end -}}
{{- end -}}

{{/* The environment the user gives: additionalEnv (VerneMQ's chart) and extraEnv. */}}
{{- define "vernemq.userEnv" -}}
{{- toYaml (concat (.Values.additionalEnv | default list) (.Values.extraEnv | default list)) -}}
{{- end -}}

{{/* "true" when the user's env sets the cookie itself (as VerneMQ's chart's users do). */}}
{{- define "vernemq.userCookie" -}}
{{- range (include "vernemq.userEnv" . | fromYamlArray) -}}
{{- if eq .name "DOCKER_VERNEMQ_DISTRIBUTED_COOKIE" }}true{{ end -}}
{{- end -}}
{{- end -}}

{{/* The conf keys the chart sets; .Values.config is merged over them. */}}
{{- define "vernemq.conf" -}}
{{- $c := dict
  "platform_data_dir" "/vernemq/data"
  "platform_log_dir" "/vernemq/log"
  "platform_etc_dir" "/vernemq/etc"
  "admin.socket" "$(platform_data_dir)/vmq-admin.sock"
  "plugins.vmq_passwd" "on"
  "plugins.vmq_acl" "on"
  "vmq_passwd.password_file" "$(platform_etc_dir)/vmq.passwd"
  "vmq_acl.acl_file" "$(platform_etc_dir)/vmq.acl"
  "listener.vmq.clustering" "###IPADDRESS###:44053"
  "listener.http.default" "0.0.0.0:8888"
  "log.console" "console"
-}}
{{- if .Values.service.mqtt.enabled }}{{ $_ := set $c "listener.tcp.default" "###IPADDRESS###:1883" }}{{ end -}}
{{- if .Values.service.ws.enabled }}{{ $_ := set $c "listener.ws.default" "###IPADDRESS###:8080" }}{{ end -}}
{{- $files := dict -}}
{{- if .Values.certificates }}
{{- $files = dict "certfile" "/etc/ssl/vernemq/tls.crt" "keyfile" "/etc/ssl/vernemq/tls.key" "cafile" "/etc/ssl/vernemq/ca.crt" -}}
{{- else if .Values.tls.enabled }}
{{- $files = dict "certfile" "/vernemq/etc/ssl/tls.crt" "keyfile" "/vernemq/etc/ssl/tls.key" -}}
{{- if .Values.tls.requireCertificate }}{{ $_ := set $files "cafile" "/vernemq/etc/ssl/ca.crt" }}{{ end -}}
{{- end }}
{{- if include "vernemq.sslEnabled" . }}
{{- $_ := set $c "listener.ssl.default" (printf "###IPADDRESS###:%v" (include "vernemq.sslPort" .)) -}}
{{- range $k, $v := $files }}{{ $_ := set $c (printf "listener.ssl.%s" $k) $v }}{{ end -}}
{{- if and .Values.tls.enabled .Values.tls.requireCertificate }}{{ $_ := set $c "listener.ssl.require_certificate" "on" }}{{ end -}}
{{- end }}
{{- if .Values.service.wss.enabled }}
{{- $_ := set $c "listener.wss.default" (printf "###IPADDRESS###:%v" .Values.service.wss.port) -}}
{{- range $k, $v := $files }}{{ $_ := set $c (printf "listener.wss.%s" $k) $v }}{{ end -}}
{{- end }}
{{- $c = merge (deepCopy (.Values.config | default dict)) $c -}}
## Rendered by the Helm chart from values.config; the entrypoint replaces
## ###IPADDRESS### and adds DOCKER_VERNEMQ_* variables (nodename, cookie).
{{- range $k := keys $c | sortAlpha }}
{{ $k }} = {{ index $c $k }}
{{- end }}
{{ end -}}
