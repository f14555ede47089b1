#!/bin/sh
# Builds and signs an appliance bundle (the vendor's release step). The layout is what install.sh
# and 'runner-ctl update' verify: see docs/appliance.md, "For the vendor: the bundle".
#
#   sh appliance/make-bundle.sh --version 1.2.0 --arch amd64 --k3s ./k3s --helm ./helm \
#     --runner-ctl dist/runner-ctl.mjs --chart charts/runner --jwks jwks.json \
#     --image k3s-airgap-images-amd64.tar.zst [--image more.tar.zst] [--node ./node] \
#     --key release-key.pem --output runner-bundle-amd64.tar.gz
#
# The key is the vendor's Ed25519 release key (PEM, 'openssl genpkey -algorithm ed25519'); its
# public half must be the one embedded in install.sh and runner-ctl.
set -eu

fatal() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

VERSION='' ARCH='' K3S='' HELM='' NODE='' RUNNER_CTL='' CHART='' JWKS='' KEY='' OUTPUT='' IMAGES=''
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || fatal "$1 needs a value"
  case $1 in
    --version) VERSION=$2 ;;
    --arch) ARCH=$2 ;;
    --k3s) K3S=$2 ;;
    --helm) HELM=$2 ;;
    --node) NODE=$2 ;;
    --runner-ctl) RUNNER_CTL=$2 ;;
    --chart) CHART=$2 ;;
    --jwks) JWKS=$2 ;;
    --image) IMAGES="$IMAGES
$2" ;;
    --key) KEY=$2 ;;
    --output) OUTPUT=$2 ;;
    *) fatal "unknown option: $1" ;;
  esac
  shift 2
done
for v in VERSION ARCH K3S HELM RUNNER_CTL CHART JWKS KEY OUTPUT; do
  eval "val=\${$v}"
  # shellcheck disable=SC2154 # set by the eval above
  [ -n "$val" ] || fatal "--$(echo "$v" | tr 'A-Z_' 'a-z-') is required"
done
case $ARCH in amd64 | arm64) ;; *) fatal "--arch must be amd64 or arm64" ;; esac
[ -f "$CHART/Chart.yaml" ] || fatal "$CHART is not a chart directory"

work=$(mktemp -d "${TMPDIR:-/tmp}/make-bundle.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/images" "$work/charts"
echo "$VERSION" >"$work/VERSION"
echo "$ARCH" >"$work/ARCH"
cp "$K3S" "$work/bin/k3s"
cp "$HELM" "$work/bin/helm"
chmod 755 "$work/bin/k3s" "$work/bin/helm"
if [ -n "$NODE" ]; then cp "$NODE" "$work/bin/node" && chmod 755 "$work/bin/node"; fi
cp "$RUNNER_CTL" "$work/runner-ctl.mjs"
cp "$JWKS" "$work/jwks.json"
cp -R "$CHART" "$work/charts/runner"
printf '%s\n' "$IMAGES" | while IFS= read -r image; do
  [ -z "$image" ] || cp "$image" "$work/images/"
done
sums=$(mktemp "${TMPDIR:-/tmp}/make-bundle-sums.XXXXXX")
(cd "$work" && find . -type f | sed 's#^\./##' | LC_ALL=C sort | while IFS= read -r f; do sha256sum "$f"; done) >"$sums"
mv "$sums" "$work/SHA256SUMS"
openssl pkeyutl -sign -inkey "$KEY" -rawin -in "$work/SHA256SUMS" -out "$work/SHA256SUMS.sig" ||
  fatal "signing failed: is $KEY an Ed25519 private key (PEM)?"
tar -czf "$OUTPUT" -C "$work" .
echo "$OUTPUT: bundle $VERSION ($ARCH), $(wc -l <"$work/SHA256SUMS" | tr -d ' ') files, signed"
