{{/* Names */}}
{{- define "runner.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "runner.fullname" -}}
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

{{/* A component's resource name: <fullname>-<suffix>, at most 63 characters. */}}
{{- define "runner.componentName" -}}
{{- printf "%s-%s" (include "runner.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "runner.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Common labels. Call with (dict "root" $ "component" "agent"). */}}
{{- define "runner.labels" -}}
helm.sh/chart: {{ include "runner.chart" .root }}
{{ include "runner.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: camel-ops
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "runner.selectorLabels" -}}
app.kubernetes.io/name: {{ include "runner.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- with .integration }}
camel-ops.io/integration: {{ . }}
{{- end }}
{{- end -}}

{{/* Image reference. Call with (dict "image" .Values.x.image "root" $). global.imageRegistry wins. */}}
{{- define "runner.image" -}}
{{- $registry := .image.registry | default "" -}}
{{- with .root.Values.global -}}{{- if .imageRegistry -}}{{- $registry = .imageRegistry -}}{{- end -}}{{- end -}}
{{- $tag := .image.tag | default .root.Chart.AppVersion | toString -}}
{{- $ref := .image.repository -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" $registry $ref -}}{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $ref .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref $tag -}}
{{- end -}}
{{- end -}}

{{- define "runner.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ if kindIs "string" . }}{{ . }}{{ else }}{{ .name }}{{ end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* storageClassName line. Call with (dict "persistence" .Values.x.persistence "root" $). */}}
{{- define "runner.storageClass" -}}
{{- $sc := .persistence.storageClass | default "" -}}
{{- if not $sc -}}{{- $sc = .root.Values.global.defaultStorageClass | default "" -}}{{- end -}}
{{- if eq $sc "-" -}}
storageClassName: ""
{{- else if $sc -}}
storageClassName: {{ $sc | quote }}
{{- end -}}
{{- end -}}

{{/* Ingress class name: the component's own, else ingress.className. */}}
{{- define "runner.ingressClassName" -}}
{{- $cls := .className | default "" -}}
{{- if not $cls -}}{{- $cls = .root.Values.ingress.className | default "" -}}{{- end -}}
{{- if $cls -}}
ingressClassName: {{ $cls | quote }}
{{- end -}}
{{- end -}}

{{- define "runner.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end -}}

{{- define "runner.containerSecurityContext" -}}
{{ toYaml .Values.containerSecurityContext }}
{{- end -}}

{{/* Database */}}
{{- define "runner.database.inCluster" -}}
{{- if and .Values.postgresql.enabled (not .Values.externalDatabase.host) -}}true{{- end -}}
{{- end -}}

{{- define "runner.database.enabled" -}}
{{- if or .Values.externalDatabase.host (include "runner.database.inCluster" .) -}}true{{- end -}}
{{- end -}}

{{- define "runner.database.host" -}}
{{- if .Values.externalDatabase.host -}}{{ .Values.externalDatabase.host }}{{- else -}}{{ include "runner.componentName" (dict "root" . "name" "postgresql") }}{{- end -}}
{{- end -}}

{{- define "runner.database.port" -}}
{{- if .Values.externalDatabase.host -}}{{ .Values.externalDatabase.port }}{{- else -}}5432{{- end -}}
{{- end -}}

{{- define "runner.database.user" -}}
{{- if .Values.externalDatabase.host -}}{{ .Values.externalDatabase.user }}{{- else -}}{{ .Values.postgresql.auth.username }}{{- end -}}
{{- end -}}

{{- define "runner.database.name" -}}
{{- if .Values.externalDatabase.host -}}{{ .Values.externalDatabase.database }}{{- else -}}{{ .Values.postgresql.auth.database }}{{- end -}}
{{- end -}}

{{/* Secret name and key holding the database password. */}}
{{- define "runner.database.secretName" -}}
{{- if .Values.externalDatabase.host -}}
{{- .Values.externalDatabase.existingSecret | default (include "runner.componentName" (dict "root" . "name" "database")) -}}
{{- else -}}
{{- .Values.postgresql.auth.existingSecret | default (include "runner.componentName" (dict "root" . "name" "postgresql")) -}}
{{- end -}}
{{- end -}}

{{- define "runner.database.secretKey" -}}
{{- if and .Values.externalDatabase.host .Values.externalDatabase.existingSecret -}}{{ .Values.externalDatabase.existingSecretPasswordKey }}{{- else -}}password{{- end -}}
{{- end -}}

{{/* Observability endpoints */}}
{{- define "runner.vm.url" -}}
http://{{ include "runner.componentName" (dict "root" . "name" "victoriametrics") }}.{{ .Release.Namespace }}.svc:8428
{{- end -}}

{{- define "runner.vl.url" -}}
http://{{ include "runner.componentName" (dict "root" . "name" "victorialogs") }}.{{ .Release.Namespace }}.svc:9428
{{- end -}}

{{- define "runner.otel.enabled" -}}
{{- if and .Values.otelCollector.enabled (or .Values.victoriametrics.enabled .Values.victorialogs.enabled) -}}true{{- end -}}
{{- end -}}

{{/* Agent */}}
{{- define "runner.agent.serviceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- .Values.agent.serviceAccount.name | default (include "runner.componentName" (dict "root" . "name" "agent")) -}}
{{- else -}}
{{- .Values.agent.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "runner.agent.secretName" -}}
{{- .Values.agent.existingSecret | default (include "runner.componentName" (dict "root" . "name" "agent")) -}}
{{- end -}}

{{- define "runner.agent.keySecretName" -}}
{{- include "runner.componentName" (dict "root" . "name" "agent-key") -}}
{{- end -}}

{{- define "runner.agent.leaseName" -}}
{{- .Values.agent.leaseName | default (include "runner.componentName" (dict "root" . "name" "helm-lock")) -}}
{{- end -}}

{{- define "runner.console.secretName" -}}
{{- .Values.console.existingSecret | default (include "runner.componentName" (dict "root" . "name" "console")) -}}
{{- end -}}

{{/* A value generated once: the existing Secret's key when the release already has it, else random. */}}
{{- define "runner.generatedSecretValue" -}}
{{- $existing := lookup "v1" "Secret" .namespace .name -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum (int .length) -}}
{{- end -}}
{{- end -}}

{{/* Pod template labels: stable across chart upgrades (no chart version), so only real changes roll pods. */}}
{{- define "runner.podLabels" -}}
{{ include "runner.selectorLabels" . }}
app.kubernetes.io/part-of: camel-ops
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}
