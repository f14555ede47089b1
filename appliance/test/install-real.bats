#!/usr/bin/env bats
# install.sh with the real parts it hands work to: the bundled runner-ctl (built with esbuild)
# verifies a real license token against the bundle's JWKS, and the chart values install.sh writes
# are rendered by real helm against charts/runner and its strict values schema.

load helpers

REPO="$BATS_TEST_DIRNAME/../.."

setup_file() {
  common_setup_file
  [ -x "$REPO/.tools/helm4/helm" ] || skip "no .tools/helm4/helm (npm install fetches it)"
  [ -f "$REPO/charts/runner/Chart.yaml" ] || skip "charts/runner is not there yet"
  REAL="$BATS_FILE_TMPDIR/real"
  mkdir -p "$REAL"
  (cd "$REPO" && npx --no-install esbuild appliance/runner-ctl/src/cli.ts --bundle --platform=node --target=node20 \
    --format=esm --outfile="$REAL/runner-ctl.mjs" --log-level=error \
    "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);")
  # a license signing key, its JWKS and two tokens (valid, expired), made now
  (cd "$REPO" && node --input-type=module -e '
    import { exportJWK, generateKeyPair, SignJWT } from "jose";
    import { writeFileSync } from "node:fs";
    const dir = process.argv[1];
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "EdDSA" }] }));
    const now = Math.floor(Date.now() / 1000);
    const token = (exp) => new SignJWT({ org: "o1", customer: { id: "c1", name: "Acme Corp" },
        entitlements: { maxWorkerNodes: 2, updateChannel: "stable" } })
      .setProtectedHeader({ alg: "EdDSA", kid: "k1" }).setIssuer("camel-ops-cloud").setAudience("camel-ops-runner")
      .setSubject("lic_1").setJti("j1").setIssuedAt(now - 60).setNotBefore(now - 60).setExpirationTime(exp).sign(privateKey);
    writeFileSync(`${dir}/valid.jwt`, await token(now + 86400 * 30));
    writeFileSync(`${dir}/expired.jwt`, await token(now - 86400));
  ' "$REAL")
  d="$BATS_FILE_TMPDIR/realbundle"
  build_bundle_dir "$d"
  cp "$REAL/runner-ctl.mjs" "$d/runner-ctl.mjs"
  cp "$REAL/jwks.json" "$d/jwks.json"
  rm -rf "$d/charts/runner"
  cp -R "$REPO/charts/runner" "$d/charts/runner"
  # helm: 'upgrade --install' becomes a real 'helm template' of the same chart, values and files
  cat >"$d/bin/helm" <<'HELM'
#!/bin/sh
echo "helm $*" >>"$STUB_LOG"
case $1 in
  status) [ -f "$STUB_STATE/helm-deployed" ] && echo "STATUS: deployed" || exit 1 ;;
  upgrade)
    shift 2
    set -- template "$@"
    out=
    for a in "$@"; do
      case $skip in 1) skip= && continue ;; esac
      case $a in --create-namespace | --wait) continue ;; --timeout | --history-max | --kubeconfig) skip=1 && continue ;; esac
      out="$out$(printf '%s' "$a" | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/") "
    done
    eval "\"\$REAL_HELM\" $out" >"$STUB_STATE/rendered.yaml" 2>"$STUB_STATE/helm.err" || { cat "$STUB_STATE/helm.err" >&2; exit 1; }
    touch "$STUB_STATE/helm-deployed" ;;
esac
HELM
  chmod +x "$d/bin/helm"
  sign_bundle_dir "$d"
  pack_bundle_dir "$d" "$BATS_FILE_TMPDIR/realbundle.tar.gz"
}

setup() {
  common_setup
  REAL="$BATS_FILE_TMPDIR/real"
  BUNDLE="$BATS_FILE_TMPDIR/realbundle.tar.gz"
  export REAL_HELM="$REPO/.tools/helm4/helm"
}

@test "the bundled runner-ctl accepts a valid license, and real helm renders charts/runner with install.sh's values" {
  run sh "$INSTALL_SH" --role hub --token-file "$REAL/valid.jwt" --airgap-bundle "$BUNDLE" --proxy http://proxy.corp:3128 \
    --cloud-url https://cloud.vendor.example
  [ "$status" -eq 0 ]
  [[ "$output" == *"License valid: Acme Corp, license lic_1, expires"* ]]
  grep -q 'kind: Deployment' "$STUB_STATE/rendered.yaml"
  grep -q 'value: "http://proxy.corp:3128"' "$STUB_STATE/rendered.yaml"
  grep -q 'https://cloud.vendor.example' "$STUB_STATE/rendered.yaml"
}

@test "the bundled runner-ctl refuses an expired license, and nothing changes" {
  run sh "$INSTALL_SH" --role hub --token-file "$REAL/expired.jwt" --airgap-bundle "$BUNDLE"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the license token is not valid: expired: the license has expired"* ]]
  [ ! -e "$RUNNER_ROOT/etc/camel-runner" ]
}
