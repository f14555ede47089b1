#!/bin/sh
# Starts Camel Main with the routes mounted at /etc/camel/sources; the OpenTelemetry Java agent only when asked.
set -eu
agent=""
if [ "${OTEL_JAVAAGENT_ENABLED:-false}" = "true" ]; then
  agent="-javaagent:/opt/camel/agent/opentelemetry-javaagent.jar"
fi
# shellcheck disable=SC2086
exec java $agent -cp "/opt/camel/lib/*" org.apache.camel.main.Main "$@"
