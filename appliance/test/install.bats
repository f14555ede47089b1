#!/usr/bin/env bats
# install.sh in a throwaway root (RUNNER_ROOT) with stubbed system commands on PATH.

load helpers

setup_file() { common_setup_file; }
setup() { common_setup; }

# --- usage -------------------------------------------------------------------------------------

@test "--help prints the usage and exits 0" {
  run sh "$INSTALL_SH" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--role hub --token <license token>"* ]]
  [[ "$output" == *"--airgap-bundle"* ]]
}

@test "an unknown option is a usage error (exit 2)" {
  run sh "$INSTALL_SH" --colour blue
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown option: --colour"* ]]
}

@test "a worker without --hub-ip is a usage error" {
  run sh "$INSTALL_SH" --role worker --token x --airgap-bundle "$BUNDLE"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--role worker needs --hub-ip"* ]]
}

@test "the hub needs a token" {
  run sh "$INSTALL_SH" --role hub --airgap-bundle "$BUNDLE"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--token is required"* ]]
}

# --- dry run -----------------------------------------------------------------------------------

@test "--dry-run prints the plan with config.yaml and changes nothing" {
  before=$(snapshot_root)
  run install_hub --dry-run
  [ "$status" -eq 0 ]
  [[ "$output" == *"Plan (dry run: nothing is changed)"* ]]
  [[ "$output" == *"would install K3s binary (/usr/local/bin/k3s)"* ]]
  [[ "$output" == *"would install K3s settings (/etc/rancher/k3s/config.yaml)"* ]]
  [[ "$output" == *'| node-name: "hub"'* ]]
  [[ "$output" == *"would helm upgrade --install runner"* ]]
  [[ "$output" == *"Nothing was changed"* ]]
  [ "$(snapshot_root)" = "$before" ]
  not_called "systemctl restart"
  not_called "systemctl enable"
  not_called "helm upgrade"
}

# --- hub install -------------------------------------------------------------------------------

@test "hub install writes config.yaml with every K3s setting, mode 0600" {
  run install_hub
  [ "$status" -eq 0 ]
  cfg="$RUNNER_ROOT/etc/rancher/k3s/config.yaml"
  [ "$(stat -c %a "$cfg")" = 600 ]
  grep -qx 'node-name: "hub"' "$cfg"
  grep -qx 'write-kubeconfig-mode: "0600"' "$cfg"
  grep -qx 'agent-token-file: "/etc/camel-runner/secrets/agent-token"' "$cfg"
  grep -qx '  - "10.0.0.5"' "$cfg"
  grep -qx '  - "appliance-01"' "$cfg"
  grep -qx '  - "camel-runner.io/role=hub"' "$cfg"
  grep -qx '  - "svccontroller.k3s.cattle.io/enablelb=true"' "$cfg"
  if grep -q '^token' "$cfg"; then false; fi
  # the agent token is separate from the server token (which K3s makes itself) and secret
  [ "$(stat -c %a "$RUNNER_ROOT/etc/camel-runner/secrets/agent-token")" = 600 ]
  [ "$(wc -c <"$RUNNER_ROOT/etc/camel-runner/secrets/agent-token")" -eq 64 ]
}

@test "hub install installs the bundle, starts K3s, installs the chart and prints the console URL" {
  run install_hub
  [ "$status" -eq 0 ]
  [ -x "$RUNNER_ROOT/usr/local/bin/k3s" ]
  [ -x "$RUNNER_ROOT/usr/local/bin/helm" ]
  [ -x "$RUNNER_ROOT/usr/local/bin/runner-ctl" ]
  [ -f "$RUNNER_ROOT/usr/local/lib/camel-runner/runner-ctl.mjs" ]
  [ -f "$RUNNER_ROOT/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst" ]
  [ -f "$RUNNER_ROOT/usr/local/lib/camel-runner/charts/runner/Chart.yaml" ]
  [ "$(cat "$RUNNER_ROOT/etc/camel-runner/secrets/license.jwt")" = valid-license ]
  grep -q '^ExecStart=/usr/local/bin/k3s server$' "$RUNNER_ROOT/etc/systemd/system/k3s.service"
  grep -q '^EnvironmentFile=-/etc/camel-runner/k3s.env$' "$RUNNER_ROOT/etc/systemd/system/k3s.service"
  called "runner-ctl license verify --token-file"
  called "systemctl daemon-reload"
  called "systemctl enable k3s"
  called "systemctl restart k3s"
  called "k3s kubectl get node hub"
  called "helm upgrade --install runner .*/usr/local/lib/camel-runner/charts/runner --namespace camel-runner"
  called "values-appliance.yaml"
  called "--set-file agent.licenseToken=.*/etc/camel-runner/secrets/license.jwt"
  called "--wait --timeout 10m"
  [[ "$output" == *"The Camel Runner console: https://10.0.0.5/"* ]]
  grep -qx 'ROLE=hub' "$RUNNER_ROOT/etc/camel-runner/runner.conf"
  grep -qx 'BUNDLE_VERSION=1.2.0' "$RUNNER_ROOT/etc/camel-runner/runner.conf"
  # the package manager is never used: everything comes from the bundle
  not_called "apt-get"
  not_called "apk"
}

@test "a second run changes nothing and says so" {
  run install_hub
  [ "$status" -eq 0 ]
  before=$(snapshot_root)
  : >"$STUB_LOG"
  run install_hub
  [ "$status" -eq 0 ]
  [[ "$output" == *"Nothing changed: this machine already matches bundle 1.2.0"* ]]
  [[ "$output" == *"unchanged: K3s settings (/etc/rancher/k3s/config.yaml)"* ]]
  [ "$(snapshot_root)" = "$before" ]
  not_called "systemctl restart"
  not_called "helm upgrade"
}

@test "a re-run without the options keeps the saved settings (token, proxy)" {
  run install_hub --proxy http://proxy.corp:3128
  [ "$status" -eq 0 ]
  run sh "$INSTALL_SH" --airgap-bundle "$BUNDLE"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Nothing changed"* ]]
  grep -qx 'HTTPS_PROXY=http://proxy.corp:3128' "$RUNNER_ROOT/etc/camel-runner/k3s.env"
}

@test "a changed setting is written and K3s restarted" {
  run install_hub
  [ "$status" -eq 0 ]
  : >"$STUB_LOG"
  run install_hub --tls-san runner.example.com
  [ "$status" -eq 0 ]
  grep -qx '  - "runner.example.com"' "$RUNNER_ROOT/etc/rancher/k3s/config.yaml"
  called "systemctl restart k3s"
  not_called "daemon-reload"
}

@test "a stopped K3s service is started again on re-run" {
  run install_hub
  rm -f "$STUB_STATE/active-k3s"
  : >"$STUB_LOG"
  run install_hub
  [ "$status" -eq 0 ]
  [[ "$output" == *"start the k3s service (it was stopped)"* ]]
  called "systemctl restart k3s"
}

@test "an interrupted run (chart install failed) completes when run again" {
  HELM_FAIL=1 run install_hub
  [ "$status" -eq 1 ]
  [[ "$output" == *"installing the runner chart failed"* ]]
  [[ "$output" == *"UPGRADE FAILED"* ]]
  [ ! -f "$RUNNER_ROOT/var/lib/camel-runner/installed" ]
  : >"$STUB_LOG"
  run install_hub
  [ "$status" -eq 0 ]
  called "helm upgrade --install"
  not_called "systemctl restart"
  [ -f "$RUNNER_ROOT/var/lib/camel-runner/installed" ]
}

@test "a run interrupted between a new K3s binary and its restart restarts K3s when run again" {
  run install_hub
  [ "$status" -eq 0 ]
  d="$BATS_TEST_TMPDIR/b2" && cp -R "$BUNDLE_KEYS/bundle" "$d"
  echo "# k3s v2" >>"$d/bin/k3s"
  sign_bundle_dir "$d"
  pack_bundle_dir "$d" "$BATS_TEST_TMPDIR/v2.tar.gz"
  stub systemctl 'case $1 in restart) exit 1 ;; is-active) [ -f "$STUB_STATE/active-$3" ] ;; esac'
  run sh "$INSTALL_SH" --airgap-bundle "$BATS_TEST_TMPDIR/v2.tar.gz"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the k3s service did not start; see 'journalctl -u k3s', then run the same command again"* ]]
  default_stubs
  : >"$STUB_LOG"
  run sh "$INSTALL_SH" --airgap-bundle "$BATS_TEST_TMPDIR/v2.tar.gz"
  [ "$status" -eq 0 ]
  [[ "$output" == *"unchanged: K3s binary"* ]]
  called "systemctl restart k3s"
}

@test "a stale lock of a killed run is taken over" {
  mkdir -p "$RUNNER_ROOT/run/camel-runner-install.lock"
  echo 999999 >"$RUNNER_ROOT/run/camel-runner-install.lock/pid"
  run install_hub
  [ "$status" -eq 0 ]
  [[ "$output" == *"taking over the lock of an interrupted run"* ]]
  [ ! -d "$RUNNER_ROOT/run/camel-runner-install.lock" ]
}

@test "proxy: the K3s environment and the chart get the proxy; NO_PROXY covers the cluster" {
  run install_hub --proxy http://proxy.corp:3128
  [ "$status" -eq 0 ]
  env="$RUNNER_ROOT/etc/camel-runner/k3s.env"
  [ "$(stat -c %a "$env")" = 600 ]
  grep -qx 'HTTPS_PROXY=http://proxy.corp:3128' "$env"
  grep -qx 'CONTAINERD_HTTPS_PROXY=http://proxy.corp:3128' "$env"
  grep -q '^NO_PROXY=127.0.0.1,localhost,::1,10.42.0.0/16,10.43.0.0/16,.svc,.cluster.local' "$env"
  grep -q 'httpsProxy: "http://proxy.corp:3128"' "$RUNNER_ROOT/etc/camel-runner/values-local.yaml"
}

@test "--ca-file is installed, trusted by the host and passed to the chart" {
  printf -- '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n' >"$BATS_TEST_TMPDIR/ca.pem"
  mkdir -p "$RUNNER_ROOT/usr/local/share/ca-certificates"
  run install_hub --ca-file "$BATS_TEST_TMPDIR/ca.pem"
  [ "$status" -eq 0 ]
  cmp "$BATS_TEST_TMPDIR/ca.pem" "$RUNNER_ROOT/etc/camel-runner/ca.pem"
  cmp "$BATS_TEST_TMPDIR/ca.pem" "$RUNNER_ROOT/usr/local/share/ca-certificates/camel-runner.crt"
  called "update-ca-certificates"
  called "--set-file agent.caBundle.pem="
}

@test "OpenRC hosts get an init script instead of a systemd unit" {
  rm -rf "$RUNNER_ROOT/run/systemd"
  mkdir -p "$RUNNER_ROOT/sbin" && printf '#!/bin/sh\n' >"$RUNNER_ROOT/sbin/openrc-run" && chmod +x "$RUNNER_ROOT/sbin/openrc-run"
  printf 'PRETTY_NAME="Alpine Linux v3.20"\nID=alpine\nVERSION_ID=3.20.3\n' >"$RUNNER_ROOT/etc/os-release"
  stub rc-service 'exit 0'
  stub rc-update 'exit 0'
  run install_hub
  [ "$status" -eq 0 ]
  [[ "$output" == *"service manager: OpenRC"* ]]
  grep -q '^command_args="server"$' "$RUNNER_ROOT/etc/init.d/k3s"
  called "rc-update add k3s default"
  called "rc-service k3s restart"
  not_called systemctl
}

# --- bundle and license verification -----------------------------------------------------------

@test "a bundle with a changed file is refused before anything changes" {
  d="$BATS_TEST_TMPDIR/b" && cp -R "$BUNDLE_KEYS/bundle" "$d"
  echo "#evil" >>"$d/bin/k3s"
  pack_bundle_dir "$d" "$BATS_TEST_TMPDIR/bad.tar.gz"
  run sh "$INSTALL_SH" --token valid-license --airgap-bundle "$BATS_TEST_TMPDIR/bad.tar.gz"
  [ "$status" -eq 1 ]
  [[ "$output" == *"checksum mismatch for bin/k3s"* ]]
  [ ! -e "$RUNNER_ROOT/etc/camel-runner" ]
  [ ! -e "$RUNNER_ROOT/usr/local/bin/k3s" ]
}

@test "a bundle signed by another key is refused" {
  d="$BATS_TEST_TMPDIR/b" && cp -R "$BUNDLE_KEYS/bundle" "$d"
  openssl genpkey -algorithm ed25519 -out "$BATS_TEST_TMPDIR/other.key" 2>/dev/null
  TEST_KEY="$BATS_TEST_TMPDIR/other.key" sign_bundle_dir "$d"
  pack_bundle_dir "$d" "$BATS_TEST_TMPDIR/bad.tar.gz"
  run sh "$INSTALL_SH" --token valid-license --airgap-bundle "$BATS_TEST_TMPDIR/bad.tar.gz"
  [ "$status" -eq 1 ]
  [[ "$output" == *"signature is not valid"* ]]
  [ ! -e "$RUNNER_ROOT/etc/camel-runner" ]
}

@test "a bundle with an unlisted extra file is refused" {
  d="$BATS_TEST_TMPDIR/b" && cp -R "$BUNDLE_KEYS/bundle" "$d"
  echo x >"$d/bin/extra"
  pack_bundle_dir "$d" "$BATS_TEST_TMPDIR/bad.tar.gz"
  run sh "$INSTALL_SH" --token valid-license --airgap-bundle "$BATS_TEST_TMPDIR/bad.tar.gz"
  [ "$status" -eq 1 ]
  [[ "$output" == *"do not match its SHA256SUMS list"* ]]
}

@test "a bundle for another architecture is refused" {
  STUB_ARCH=aarch64 run install_hub
  [ "$status" -eq 1 ]
  [[ "$output" == *"the bundle is for amd64 but this machine is arm64"* ]]
}

@test "an invalid license is refused before anything changes" {
  run sh "$INSTALL_SH" --token forged --airgap-bundle "$BUNDLE"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the license token is not valid: bad-signature"* ]]
  [ ! -e "$RUNNER_ROOT/etc/camel-runner" ]
  [ ! -e "$RUNNER_ROOT/usr/local/bin/k3s" ]
  not_called systemctl
}

# --- preflight ---------------------------------------------------------------------------------

# expect_preflight_fail <message part>: the run fails in preflight, says why, and changes nothing.
expect_preflight_fail() {
  [ "$status" -eq 1 ]
  [[ "$output" == *"[FAIL] $1"* ]]
  [[ "$output" == *"preflight failed. Nothing was changed."* ]]
  [ ! -e "$RUNNER_ROOT/etc/camel-runner" ]
  [ ! -e "$RUNNER_ROOT/etc/rancher" ]
  not_called systemctl
  not_called "runner-ctl"
}

@test "preflight: all checks pass on a good host" {
  run install_hub --dry-run
  [ "$status" -eq 0 ]
  [[ "$output" == *"[pass] operating system: Ubuntu 22.04.4 LTS"* ]]
  [[ "$output" == *"[pass] architecture: amd64"* ]]
  [[ "$output" == *"[pass] service manager: systemd"* ]]
  [[ "$output" == *"[pass] CPU: 4 cores"* ]]
  [[ "$output" == *"[pass] memory: 7850 MiB"* ]]
  [[ "$output" == *"[pass] memory cgroup: enabled"* ]]
  [[ "$output" == *"[pass] network: default route present"* ]]
  [[ "$output" == *"[pass] time: synchronised"* ]]
  [[ "$output" == *"[pass] firewall: no active host firewall"* ]]
  [[ "$output" == *"0 failed"* ]]
}

@test "preflight fails: unsupported OS" {
  STUB_KERNEL=FreeBSD run install_hub
  expect_preflight_fail "operating system: FreeBSD is not supported"
}

@test "preflight fails: OS too old" {
  printf 'PRETTY_NAME="Ubuntu 18.04"\nID=ubuntu\nVERSION_ID="18.04"\n' >"$RUNNER_ROOT/etc/os-release"
  run install_hub
  expect_preflight_fail "operating system: Ubuntu 18.04 is too old"
}

@test "preflight fails: unsupported architecture" {
  STUB_ARCH=riscv64 run install_hub
  expect_preflight_fail "architecture: riscv64 is not supported"
}

@test "preflight fails: neither systemd nor OpenRC" {
  rm -rf "$RUNNER_ROOT/run/systemd"
  run install_hub
  expect_preflight_fail "service manager: neither systemd nor OpenRC found"
}

@test "preflight fails: one CPU for a hub" {
  printf 'processor\t: 0\n' >"$RUNNER_ROOT/proc/cpuinfo"
  run install_hub
  expect_preflight_fail "CPU: 1 core(s); a hub needs at least 2"
}

@test "preflight fails: too little memory" {
  printf 'MemTotal:        1017856 kB\n' >"$RUNNER_ROOT/proc/meminfo"
  run install_hub
  expect_preflight_fail "memory: 994 MiB; a hub needs at least 2 GiB"
}

@test "preflight fails: too little free disk" {
  STUB_DISK_FREE=4194304 run install_hub
  expect_preflight_fail "disk: 4 GiB free for /var/lib/rancher/k3s; at least 10 GiB free is needed"
}

@test "preflight fails: disk almost full" {
  STUB_DISK_USE=93 run install_hub
  expect_preflight_fail "disk: the file system of /var/lib/rancher/k3s is 93% full"
}

@test "preflight warns: small disk" {
  STUB_DISK_SIZE=31457280 STUB_DISK_FREE=26214400 run install_hub --dry-run
  [ "$status" -eq 0 ]
  [[ "$output" == *"[warn] disk: 30 GiB, 20% used; 40 GiB or more"* ]]
}

@test "preflight fails: no memory cgroup (v2)" {
  echo "cpuset cpu io pids" >"$RUNNER_ROOT/sys/fs/cgroup/cgroup.controllers"
  run install_hub
  expect_preflight_fail "memory cgroup: not enabled; add 'cgroup_enable=memory cgroup_memory=1'"
}

@test "preflight fails: no memory cgroup (v1)" {
  rm "$RUNNER_ROOT/sys/fs/cgroup/cgroup.controllers"
  printf '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t2\t1\t1\nmemory\t0\t1\t0\n' >"$RUNNER_ROOT/proc/cgroups"
  run install_hub
  expect_preflight_fail "memory cgroup: not enabled"
}

@test "preflight fails: no default route" {
  printf 'Iface\tDestination\tGateway\neth0\t0000000A\t00000000\n' >"$RUNNER_ROOT/proc/net/route"
  run install_hub
  expect_preflight_fail "network: no default route; K3s needs one"
}

@test "preflight fails: hostname localhost" {
  echo localhost >"$RUNNER_ROOT/etc/hostname"
  run install_hub
  expect_preflight_fail "hostname: 'localhost' is not a unique name"
}

@test "preflight warns: clock not synchronised" {
  STUB_NTP=no run install_hub --dry-run
  [ "$status" -eq 0 ]
  [[ "$output" == *"[warn] time: the clock is not synchronised"* ]]
}

@test "preflight fails: proxy without the cluster ranges in NO_PROXY" {
  run install_hub --proxy http://proxy.corp:3128 --no-proxy "localhost,127.0.0.1,.corp"
  expect_preflight_fail "proxy: NO_PROXY must contain 10.42.0.0/16 10.43.0.0/16 .svc .cluster.local"
}

@test "preflight fails: HTTPS_PROXY in the environment with an incomplete NO_PROXY" {
  HTTPS_PROXY=http://p:3128 NO_PROXY=localhost run install_hub
  expect_preflight_fail "proxy: NO_PROXY must contain 127.0.0.1 10.42.0.0/16"
}

@test "preflight warns: active firewall, with the commands to open it" {
  stub ufw 'echo "Status: active"'
  run install_hub --dry-run
  [ "$status" -eq 0 ]
  [[ "$output" == *"[warn] firewall: ufw is active; allow the cluster: 'ufw allow 6443/tcp; ufw allow 8472/udp"* ]]
}

@test "preflight fails: the console ports are taken" {
  echo '   0: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1' >>"$RUNNER_ROOT/proc/net/tcp"
  run install_hub
  expect_preflight_fail "ports: 443/tcp already in use by another program"
}

@test "preflight fails: openssl missing" {
  nossl="$BATS_TEST_TMPDIR/no-openssl"
  mkdir -p "$nossl"
  for tool in "$SANDBOX_BIN"/*; do [ "${tool##*/}" = openssl ] || ln -s "$(readlink "$tool")" "$nossl/${tool##*/}"; done
  PATH="$STUBS:$nossl" run install_hub
  expect_preflight_fail "tools: missing openssl"
}

@test "preflight reports every failure at once" {
  printf 'processor\t: 0\n' >"$RUNNER_ROOT/proc/cpuinfo"
  echo localhost >"$RUNNER_ROOT/etc/hostname"
  run install_hub
  [ "$status" -eq 1 ]
  [[ "$output" == *"2 failed"* ]]
}

# --- worker ------------------------------------------------------------------------------------

join_token() { echo "K10$(printf hub-ca | sha256sum | cut -d' ' -f1)::abcdef.0123456789abcdef"; }
install_worker() { sh "$INSTALL_SH" --role worker --hub-ip 10.0.0.5 --airgap-bundle "$BUNDLE" "$@"; }

@test "worker joins the hub with a CA-pinning join token" {
  echo worker-a >"$RUNNER_ROOT/etc/hostname"
  printf 'processor\t: 0\n' >"$RUNNER_ROOT/proc/cpuinfo"
  run install_worker --token "$(join_token)"
  [ "$status" -eq 0 ]
  [[ "$output" == *"[pass] hub: 10.0.0.5:6443/tcp reachable"* ]]
  [[ "$output" == *"[pass] hub: 10.0.0.5:8472/udp (VXLAN) not rejected"* ]]
  [[ "$output" == *"[pass] hub: path MTU 1500"* ]]
  [[ "$output" == *"[pass] join token: pins the hub's CA"* ]]
  cfg="$RUNNER_ROOT/etc/rancher/k3s/config.yaml"
  grep -qx 'server: "https://10.0.0.5:6443"' "$cfg"
  grep -qx 'token-file: "/etc/camel-runner/secrets/join-token"' "$cfg"
  grep -qx 'node-name: "worker-worker-a"' "$cfg"
  grep -qx '  - "camel-runner.io/role=worker"' "$cfg"
  if grep -q 'tls-san\|agent-token' "$cfg"; then false; fi
  [ "$(cat "$RUNNER_ROOT/etc/camel-runner/secrets/join-token")" = "$(join_token)" ]
  [ "$(stat -c %a "$RUNNER_ROOT/etc/camel-runner/secrets/join-token")" = 600 ]
  grep -q '^ExecStart=/usr/local/bin/k3s agent$' "$RUNNER_ROOT/etc/systemd/system/k3s-agent.service"
  called "systemctl restart k3s-agent"
  called "curl -fsSk --max-time 10 https://10.0.0.5:6443/cacerts"
  not_called "helm"
  not_called "runner-ctl license"
  [[ "$output" == *"Worker worker-worker-a joined the hub at 10.0.0.5"* ]]
}

@test "worker: a second run changes nothing, even without the (expired) token" {
  run install_worker --token "$(join_token)"
  [ "$status" -eq 0 ]
  : >"$STUB_LOG"
  run sh "$INSTALL_SH" --role worker --airgap-bundle "$BUNDLE"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Nothing changed"* ]]
  not_called "systemctl restart"
}

@test "worker refuses the hub's server token" {
  run install_worker --token "K10$(printf hub-ca | sha256sum | cut -d' ' -f1)::server:0123456789abcdef"
  expect_preflight_fail "join token: this is the hub's server token; never copy it to workers"
}

@test "worker refuses a token that is not a join token" {
  run install_worker --token valid-license
  expect_preflight_fail "join token: not a join token (expected K10<hash>::<id>.<secret>)"
}

@test "worker refuses a token whose CA does not match the hub (hub reinstalled)" {
  STUB_HUB_CA=another-ca run install_worker --token "$(join_token)"
  expect_preflight_fail "join token: the hub at 10.0.0.5 has a different CA than the token names"
}

@test "worker preflight fails: hub API port unreachable" {
  STUB_TCP_RC=1 run install_worker --token "$(join_token)"
  expect_preflight_fail "hub: cannot reach 10.0.0.5:6443/tcp; open 6443/tcp"
}

@test "worker preflight fails: VXLAN port rejected" {
  STUB_UDP_RC=1 run install_worker --token "$(join_token)"
  expect_preflight_fail "hub: 10.0.0.5:8472/udp (VXLAN) is rejected"
}

@test "worker preflight warns: path MTU below 1500" {
  STUB_MTU_RC=1 run install_worker --token "$(join_token)" --dry-run
  [ "$status" -eq 0 ]
  [[ "$output" == *"[warn] hub: full-size packets to 10.0.0.5 do not pass (path MTU below 1500)"* ]]
}

@test "worker: NO_PROXY must also cover the hub" {
  run install_worker --token "$(join_token)" --proxy http://p:3128 --no-proxy "127.0.0.1,localhost,10.42.0.0/16,10.43.0.0/16,.svc,.cluster.local"
  expect_preflight_fail "proxy: NO_PROXY must contain 10.0.0.5"
}

@test "a hub cannot be turned into a worker without uninstalling" {
  run install_hub
  run install_worker --token "$(join_token)"
  [ "$status" -eq 1 ]
  [[ "$output" == *"already installed as 'hub'"* ]]
}

# --- uninstall ---------------------------------------------------------------------------------

@test "uninstall warns about volume data and refuses without confirmation" {
  run install_hub
  mkdir -p "$RUNNER_ROOT/var/lib/rancher/k3s/storage/pvc-1_camel-runner_data" && echo precious >"$RUNNER_ROOT/var/lib/rancher/k3s/storage/pvc-1_camel-runner_data/f"
  : >"$STUB_LOG"
  run sh "$INSTALL_SH" --uninstall </dev/null
  [ "$status" -eq 1 ]
  [[ "$output" == *"DELETES ALL VOLUME DATA under /var/lib/rancher/k3s/storage"* ]]
  [[ "$output" == *"refusing to uninstall without confirmation; run with --yes"* ]]
  [ -f "$RUNNER_ROOT/var/lib/rancher/k3s/storage/pvc-1_camel-runner_data/f" ]
  not_called systemctl
}

@test "uninstall asks, and anything but 'yes' keeps everything" {
  run install_hub
  RUNNER_ASSUME_TTY=1 run sh "$INSTALL_SH" --uninstall <<<"no"
  [ "$status" -eq 1 ]
  [[ "$output" == *"not confirmed; nothing was removed"* ]]
  [ -f "$RUNNER_ROOT/usr/local/bin/k3s" ]
}

@test "uninstall --dry-run removes nothing" {
  run install_hub
  before=$(snapshot_root)
  run sh "$INSTALL_SH" --uninstall --dry-run
  [ "$status" -eq 0 ]
  [ "$(snapshot_root)" = "$before" ]
}

@test "uninstall --yes removes the appliance and keeps the backups" {
  run install_hub
  mkdir -p "$RUNNER_ROOT/var/lib/camel-runner/backups" && echo b >"$RUNNER_ROOT/var/lib/camel-runner/backups/b1.crb"
  run sh "$INSTALL_SH" --uninstall --yes
  [ "$status" -eq 0 ]
  called "systemctl disable --now k3s"
  [ ! -e "$RUNNER_ROOT/usr/local/bin/k3s" ]
  [ ! -e "$RUNNER_ROOT/usr/local/bin/helm" ]
  [ ! -e "$RUNNER_ROOT/usr/local/bin/runner-ctl" ]
  [ ! -e "$RUNNER_ROOT/etc/rancher/k3s" ]
  [ ! -e "$RUNNER_ROOT/var/lib/rancher/k3s" ]
  [ ! -e "$RUNNER_ROOT/etc/camel-runner" ]
  [ ! -e "$RUNNER_ROOT/etc/systemd/system/k3s.service" ]
  [ -f "$RUNNER_ROOT/var/lib/camel-runner/backups/b1.crb" ]
  # and the machine can be installed again
  run install_hub
  [ "$status" -eq 0 ]
}

# --- the vendor's bundle builder ---------------------------------------------------------------

@test "make-bundle.sh builds a signed bundle that install.sh accepts" {
  src="$BUNDLE_KEYS/bundle"
  PATH="$SANDBOX_BIN" run sh "$BATS_TEST_DIRNAME/../make-bundle.sh" --version 3.0.0 --arch amd64 \
    --k3s "$src/bin/k3s" --helm "$src/bin/helm" --runner-ctl "$src/runner-ctl.mjs" --chart "$src/charts/runner" \
    --jwks "$src/jwks.json" --image "$src/images/k3s-airgap-images-amd64.tar.zst" --key "$TEST_KEY" \
    --output "$BATS_TEST_TMPDIR/made.tar.gz"
  [ "$status" -eq 0 ]
  [[ "$output" == *"bundle 3.0.0 (amd64)"* ]]
  run sh "$INSTALL_SH" --token valid-license --airgap-bundle "$BATS_TEST_TMPDIR/made.tar.gz"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Bundle 3.0.0 (amd64): signature and checksums verified."* ]]
  grep -qx 'BUNDLE_VERSION=3.0.0' "$RUNNER_ROOT/etc/camel-runner/runner.conf"
}
