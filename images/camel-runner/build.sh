#!/bin/sh
# Builds and tags the runner image as <camel version>-<runner version>, both read from pom.xml.
#   images/camel-runner/build.sh [--push] [registry/repository]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
push=false
if [ "${1:-}" = "--push" ]; then push=true; shift; fi
repo=${1:-ghcr.io/camel-ops/camel-runner}
camel=$(sed -n 's:.*<camel.version>\(.*\)</camel.version>.*:\1:p' "$here/pom.xml" | head -1)
ours=$(sed -n '0,/<version>/s:.*<version>\(.*\)</version>.*:\1:p' "$here/pom.xml" | head -1)
tag="$repo:$camel-$ours"
docker build --build-arg CAMEL_VERSION="$camel" --build-arg RUNNER_VERSION="$ours" -t "$tag" "$here"
if $push; then docker push "$tag"; fi
echo "$tag"
