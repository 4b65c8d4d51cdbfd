{{/*
The chart name, or nameOverride.
*/}}
{{- define "cloud-worker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name "<release>-<chart>" (just the release name when it already contains the chart
name), or fullnameOverride. Truncated to 63 characters: some names are DNS labels.
*/}}
{{- define "cloud-worker.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<chart>-<version>" for the helm.sh/chart label.
*/}}
{{- define "cloud-worker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Standard labels of every object, then commonLabels (which cannot replace a standard one). Call
with (dict "context" $ "component" "worker").
*/}}
{{- define "cloud-worker.labels" -}}
{{- $labels := include "cloud-worker.selectorLabels" . | fromYaml }}
{{- $_ := set $labels "helm.sh/chart" (include "cloud-worker.chart" .context) }}
{{- if .context.Chart.AppVersion }}
{{- $_ := set $labels "app.kubernetes.io/version" .context.Chart.AppVersion }}
{{- end }}
{{- $_ := set $labels "app.kubernetes.io/part-of" "cloud-worker" }}
{{- $_ := set $labels "app.kubernetes.io/managed-by" .context.Release.Service }}
{{- merge $labels .context.Values.commonLabels | toYaml }}
{{- end }}

{{/*
Labels that select a component's pods. Call with (dict "context" $ "component" "worker").
*/}}
{{- define "cloud-worker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloud-worker.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
The worker's ServiceAccount name.
*/}}
{{- define "cloud-worker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cloud-worker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Namespace of the Jobs: worker.namespace, else the release namespace.
*/}}
{{- define "cloud-worker.jobNamespace" -}}
{{- default .Release.Namespace .Values.worker.namespace }}
{{- end }}

{{/*
An image reference: repository@digest when a digest is given, else repository:tag. Call with
(dict "image" .Values.image "defaultTag" .Chart.AppVersion).
*/}}
{{- define "cloud-worker.imageRef" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .defaultTag .image.tag) }}
{{- end }}
{{- end }}

{{/*
The label value the worker puts on its Jobs (cloud-worker.io/pool): the request queue when it is
a valid label value, else the queue sanitised as JobNaming.sanitised does (lower case, runs of
other characters as one "-", at most 63 characters).
*/}}
{{- define "cloud-worker.poolLabel" -}}
{{- $queue := .Values.amqp.requestQueue }}
{{- if and (le (len $queue) 63) (regexMatch "^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$" $queue) }}
{{- $queue }}
{{- else }}
{{- regexReplaceAll "[^a-z0-9]+" (lower $queue) "-" | trimPrefix "-" | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
Restricted security context of the chart's one-shot pods (hooks and tests): non-root, read-only
root file system, nothing to escalate.
*/}}
{{- define "cloud-worker.hookPodSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "cloud-worker.hookContainerSecurityContext" -}}
readOnlyRootFilesystem: true
{{ include "cloud-worker.devContainerSecurityContext" . }}
{{- end }}

{{/*
Name of the Secret holding the broker URL: amqp.existingSecret, else the one the chart makes.
*/}}
{{- define "cloud-worker.amqpSecretName" -}}
{{- if .Values.amqp.existingSecret }}
{{- .Values.amqp.existingSecret }}
{{- else }}
{{- printf "%s-amqp" (include "cloud-worker.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Key of the broker URL in that Secret.
*/}}
{{- define "cloud-worker.amqpSecretKey" -}}
{{- if .Values.amqp.existingSecret }}
{{- .Values.amqp.existingSecretKey }}
{{- else }}
{{- "url" }}
{{- end }}
{{- end }}

{{/*
The broker URL the chart stores when amqp.existingSecret is "": amqp.url, else the
development broker's.
*/}}
{{- define "cloud-worker.amqpURL" -}}
{{- if .Values.amqp.url }}
{{- .Values.amqp.url }}
{{- else if .Values.dev.rabbitmq.enabled }}
{{- printf "amqp://%s:%s@%s-rabbitmq.%s.svc:5672/%%2F" (.Values.dev.rabbitmq.username | urlquery) (.Values.dev.rabbitmq.password | urlquery) (include "cloud-worker.fullname" .) .Release.Namespace }}
{{- else }}
{{- fail "amqp: set amqp.existingSecret (a Secret with the broker URL), amqp.url, or dev.rabbitmq.enabled=true" }}
{{- end }}
{{- end }}

{{/*
Name of the Secret holding the worker's S3 keys: s3.existingSecret, else the one the chart makes.
*/}}
{{- define "cloud-worker.s3SecretName" -}}
{{- if .Values.s3.existingSecret }}
{{- .Values.s3.existingSecret }}
{{- else }}
{{- printf "%s-s3" (include "cloud-worker.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Secret the Jobs' pods read AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from, for the buckets
worker.bucketCredentials does not map. Never the worker's own S3 Secret unless named here.
*/}}
{{- define "cloud-worker.jobCredentialsSecret" -}}
{{- required "s3.jobCredentialsSecret: name the Secret the Jobs' pods take their S3 keys from (default cloud-worker-job-s3; the worker's own S3 Secret only if the pods may have its keys)" .Values.s3.jobCredentialsSecret }}
{{- end }}

{{/*
worker.bucketCredentials as the worker reads it: pattern=Secret,... in order (first match wins).
*/}}
{{- define "cloud-worker.bucketCredentials" -}}
{{- $pairs := list }}
{{- range .Values.worker.bucketCredentials }}
{{- $pairs = append $pairs (printf "%s=%s" .bucket .secret) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/*
A map of resource name to quantity as the worker reads it: name=quantity,... (sorted by name).
Numbers are written as Go does (2, 0.5, 1.6e+10), which are Kubernetes quantities too.
*/}}
{{- define "cloud-worker.quantities" -}}
{{- $pairs := list }}
{{- range $name, $quantity := . }}
{{- $pairs = append $pairs (printf "%s=%v" $name $quantity) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/*
S3 endpoint: s3.endpoint, else the development MinIO's when it is on, else "" (the worker's
default, https://s3.amazonaws.com).
*/}}
{{- define "cloud-worker.s3Endpoint" -}}
{{- if .Values.s3.endpoint }}
{{- .Values.s3.endpoint }}
{{- else if .Values.dev.minio.enabled }}
{{- printf "http://%s-minio.%s.svc:9000" (include "cloud-worker.fullname" .) .Release.Namespace }}
{{- end }}
{{- end }}

{{/*
Restricted container security context of the development services (they keep a writable root
file system: their images write beside their data).
*/}}
{{- define "cloud-worker.devContainerSecurityContext" -}}
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}
