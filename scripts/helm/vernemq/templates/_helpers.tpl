{{- define "vernemq.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vernemq.headless" -}}
{{- printf "%s-headless" (include "vernemq.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vernemq.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vernemq.labels" -}}
{{ include "vernemq.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "vernemq.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vernemq.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
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
{{- if .Values.tls.enabled }}
{{- $_ := set $c "listener.ssl.default" "###IPADDRESS###:8883" -}}
{{- $_ := set $c "listener.ssl.certfile" "/vernemq/etc/ssl/tls.crt" -}}
{{- $_ := set $c "listener.ssl.keyfile" "/vernemq/etc/ssl/tls.key" -}}
{{- if .Values.tls.requireCertificate }}
{{- $_ := set $c "listener.ssl.cafile" "/vernemq/etc/ssl/ca.crt" -}}
{{- $_ := set $c "listener.ssl.require_certificate" "on" -}}
{{- end }}
{{- end }}
{{- $c = merge (deepCopy .Values.config) $c -}}
## Rendered by the Helm chart from values.config; the entrypoint replaces
## ###IPADDRESS### and adds DOCKER_VERNEMQ_* variables (nodename, cookie).
{{- range $k := keys $c | sortAlpha }}
{{ $k }} = {{ index $c $k }}
{{- end }}
{{ end -}}
