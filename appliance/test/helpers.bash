# Shared set-up for the install.sh tests: a throwaway root with planted system facts, stubbed system
# commands first on PATH (every call is logged), and a small signed bundle made with a key generated
# at run time. PATH holds only the stubs and links to the real tools the script may use, so nothing
# on the test machine (a real systemctl, ufw, apt-get ...) can leak in.

INSTALL_SH="$BATS_TEST_DIRNAME/../install.sh"

# Real tools install.sh needs; linked into the sandbox PATH.
REAL_TOOLS="sh cat cp mv rm mkdir chmod cmp diff find sort od tr head tail cut date sleep stat mktemp
  tar gzip awk sed grep openssl sha256sum readlink ln env id kill wc printf dirname basename node touch ls"

make_sandbox_path() {
  mkdir -p "$SANDBOX_BIN"
  for tool in $REAL_TOOLS; do
    real=$(command -v "$tool" 2>/dev/null || true)
    case $real in /*) ln -sf "$real" "$SANDBOX_BIN/$tool" ;; esac
  done
}

# stub <name> <body>: a shell script that logs its arguments, then runs body.
stub() {
  cat >"$STUBS/$1" <<EOF
#!/bin/sh
echo "$1 \$*" >>"$STUB_LOG"
$2
EOF
  chmod +x "$STUBS/$1"
}

unstub() { rm -f "$STUBS/$1"; }

default_stubs() {
  stub systemctl '
case $1 in
  is-active) [ -f "$STUB_STATE/active-$3" ] ;;
  restart|start) touch "$STUB_STATE/active-$2" ;;
  disable) rm -f "$STUB_STATE/active-$3" ;;
  *) exit 0 ;;
esac'
  stub uname 'case $1 in -m) echo "${STUB_ARCH:-x86_64}" ;; -s) echo "${STUB_KERNEL:-Linux}" ;; *) echo Linux ;; esac'
  stub df 'printf "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 %s %s %s %s /\n" "${STUB_DISK_SIZE:-104857600}" 0 "${STUB_DISK_FREE:-83886080}" "${STUB_DISK_USE:-20}%"'
  stub ip 'case "$*" in *"route get"*) echo "1.1.1.1 via 10.0.0.1 dev eth0 src ${STUB_IP:-10.0.0.5} uid 0" ;; esac'
  stub timedatectl 'echo "${STUB_NTP:-yes}"'
  stub nc 'case "$*" in *-u*) exit "${STUB_UDP_RC:-0}" ;; *) exit "${STUB_TCP_RC:-0}" ;; esac'
  stub ping 'case "$*" in *-M*) exit "${STUB_MTU_RC:-0}" ;; *) exit 0 ;; esac'
  stub curl 'case "$*" in *cacerts*) printf "%s" "${STUB_HUB_CA:-hub-ca}" ;; *) exit 22 ;; esac'
  stub hostname 'cat "$RUNNER_ROOT/etc/hostname"'
  stub apt-get 'exit 0'
  stub apk 'exit 0'
  stub update-ca-certificates 'exit 0'
}

plant_host() {
  R=$RUNNER_ROOT
  mkdir -p "$R/etc" "$R/proc/net" "$R/sys/fs/cgroup" "$R/run/systemd/system" "$R/tmp"
  printf 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n' >"$R/etc/os-release"
  echo appliance-01 >"$R/etc/hostname"
  : >"$R/proc/cpuinfo"
  for i in 0 1 2 3; do printf 'processor\t: %s\nmodel name\t: test\n\n' "$i" >>"$R/proc/cpuinfo"; done
  printf 'MemTotal:        8039040 kB\nMemFree:         6000000 kB\n' >"$R/proc/meminfo"
  echo "cpuset cpu io memory hugetlb pids rdma misc" >"$R/sys/fs/cgroup/cgroup.controllers"
  printf 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\neth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n' >"$R/proc/net/route"
  echo '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode' >"$R/proc/net/tcp"
}

# A fake k3s: logs, answers 'kubectl get node' with Ready and 'token create' with a join token.
fake_k3s() {
  cat <<'EOF'
#!/bin/sh
echo "k3s $*" >>"$STUB_LOG"
case "$1 $2" in
  "kubectl get") echo True ;;
  "token create") echo "K10$(printf hub-ca | sha256sum | cut -d' ' -f1)::abcdef.0123456789abcdef" ;;
esac
EOF
}

# A fake helm: logs; 'status' reports deployed after a successful upgrade; HELM_FAIL=1 makes upgrade fail.
fake_helm() {
  cat <<'EOF'
#!/bin/sh
echo "helm $*" >>"$STUB_LOG"
case $1 in
  upgrade)
    if [ -n "${HELM_FAIL:-}" ]; then echo "Error: UPGRADE FAILED: context deadline exceeded" >&2; exit 1; fi
    touch "$STUB_STATE/helm-deployed" ;;
  status) [ -f "$STUB_STATE/helm-deployed" ] && echo "STATUS: deployed" || { echo "Error: release: not found" >&2; exit 1; } ;;
esac
EOF
}

# A fake runner-ctl: 'license verify' accepts the token "valid-license" only.
fake_runner_ctl() {
  cat <<'EOF'
import { readFileSync, appendFileSync } from "node:fs";
const args = process.argv.slice(2);
appendFileSync(process.env.STUB_LOG, `runner-ctl ${args.join(" ")}\n`);
const file = args[args.indexOf("--token-file") + 1];
const token = readFileSync(file, "utf8").trim();
if (token !== "valid-license") {
  process.stderr.write("bad-signature: the signature does not match the token's contents");
  process.exit(1);
}
process.stdout.write(JSON.stringify({ valid: true, summary: "Acme Corp, expires 2027-12-31" }));
EOF
}

# make_bundle <dir> <out.tar.gz> [extra steps]: builds and signs a bundle with $TEST_KEY.
build_bundle_dir() {
  d=$1
  mkdir -p "$d/bin" "$d/images" "$d/charts/runner/templates"
  echo "1.2.0" >"$d/VERSION"
  echo "amd64" >"$d/ARCH"
  fake_k3s >"$d/bin/k3s"
  fake_helm >"$d/bin/helm"
  chmod +x "$d/bin/k3s" "$d/bin/helm"
  fake_runner_ctl >"$d/runner-ctl.mjs"
  echo '{"keys":[]}' >"$d/jwks.json"
  head -c 2048 /dev/urandom >"$d/images/k3s-airgap-images-amd64.tar.zst"
  printf 'apiVersion: v2\nname: runner\nversion: 0.1.0\n' >"$d/charts/runner/Chart.yaml"
  printf 'mode: appliance\n' >"$d/charts/runner/values-appliance.yaml"
}

sign_bundle_dir() {
  d=$1
  (cd "$d" && find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig | sed 's#^\./##' | sort | xargs sha256sum >SHA256SUMS)
  openssl pkeyutl -sign -inkey "$TEST_KEY" -rawin -in "$d/SHA256SUMS" -out "$d/SHA256SUMS.sig"
}

pack_bundle_dir() { tar -czf "$2" -C "$1" .; }

common_setup() {
  export RUNNER_ROOT="$BATS_TEST_TMPDIR/root"
  export STUB_LOG="$BATS_TEST_TMPDIR/calls.log"
  export STUB_STATE="$BATS_TEST_TMPDIR/state"
  export TMPDIR="$BATS_TEST_TMPDIR"
  SANDBOX_BIN="$BATS_FILE_TMPDIR/sandbox-bin"
  STUBS="$BATS_TEST_TMPDIR/stubs"
  mkdir -p "$STUB_STATE" "$STUBS"
  : >"$STUB_LOG"
  default_stubs
  plant_host
  export PATH="$STUBS:$SANDBOX_BIN"
  export RUNNER_RELEASE_PUBKEY_FILE="$BUNDLE_KEYS/release.pub"
  TEST_KEY="$BUNDLE_KEYS/release.key"
  BUNDLE="$BUNDLE_KEYS/bundle.tar.gz"
  unset HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy
}

common_setup_file() {
  # links to the real tools, made once per file (xargs: only the bundle builder needs it)
  SANDBOX_BIN="$BATS_FILE_TMPDIR/sandbox-bin"
  REAL_TOOLS="$REAL_TOOLS xargs"
  make_sandbox_path
  export BUNDLE_KEYS="$BATS_FILE_TMPDIR/keys"
  mkdir -p "$BUNDLE_KEYS"
  openssl genpkey -algorithm ed25519 -out "$BUNDLE_KEYS/release.key" 2>/dev/null
  openssl pkey -in "$BUNDLE_KEYS/release.key" -pubout -out "$BUNDLE_KEYS/release.pub" 2>/dev/null
  TEST_KEY="$BUNDLE_KEYS/release.key"
  build_bundle_dir "$BUNDLE_KEYS/bundle"
  sign_bundle_dir "$BUNDLE_KEYS/bundle"
  pack_bundle_dir "$BUNDLE_KEYS/bundle" "$BUNDLE_KEYS/bundle.tar.gz"
}

install_hub() { sh "$INSTALL_SH" --role hub --token valid-license --airgap-bundle "$BUNDLE" "$@"; }

# Lists every file under the root with its checksum: compare before and after to prove "nothing changed".
snapshot_root() { (cd "$RUNNER_ROOT" && find . -type f -o -type l -o -type d | sort | while read -r f; do
  if [ -f "$f" ]; then echo "$f $(sha256sum <"$f" | cut -c1-16)"; else echo "$f"; fi
done); }

calls() { cat "$STUB_LOG"; }
called() { grep -q -- "$1" "$STUB_LOG"; }
# bash ignores errexit for '! cmd', so negative assertions need their own function.
not_called() {
  if grep -q -- "$1" "$STUB_LOG"; then
    echo "unexpected call matching '$1':" && grep -- "$1" "$STUB_LOG"
    return 1
  fi
}
