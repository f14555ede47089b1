#!/bin/sh
# Camel Runner appliance installer.
#
# Turns a clean Linux VM into a Camel Runner appliance: checks the host, verifies the signed
# bundle and the license offline, installs K3s with every setting in /etc/rancher/k3s/config.yaml,
# the bundled helm and runner-ctl, then installs the runner chart.
#
#   sh install.sh --role hub --token <license token> [--airgap-bundle runner-bundle.tar.gz]
#   sh install.sh --role worker --hub-ip <ip> --token <worker join token>     (advanced)
#   sh install.sh --uninstall
#
# A fixed pipeline of small functions (see main at the end). Every step compares what is on disk
# with what it wants, so a second run changes nothing and an interrupted run can be run again.
# RUNNER_ROOT (empty by default) prefixes every path the script reads or writes: tests use it to
# run the script in a throwaway root with stubbed system commands on PATH.
set -eu

INSTALLER_VERSION=1.0.0
PRODUCT=camel-runner

# The vendor's release key (Ed25519). SHA256SUMS.sig in every bundle is its signature of SHA256SUMS.
# RUNNER_RELEASE_PUBKEY_FILE replaces it (tests, or a vendor build with its own key).
RELEASE_PUBKEY='-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA/+8vXOxTpMXW5xjpnXCubIarKG1TK/a7pRaHwj1JapY=
-----END PUBLIC KEY-----'

DEFAULT_BUNDLE_URL="https://get.our-runner.com/bundles/stable/runner-bundle-%ARCH%.tar.gz"
CLUSTER_NO_PROXY="127.0.0.1,localhost,::1,10.42.0.0/16,10.43.0.0/16,.svc,.cluster.local"
REQUIRED_NO_PROXY="127.0.0.1 localhost 10.42.0.0/16 10.43.0.0/16 .svc .cluster.local"

# ---------------------------------------------------------------------------------------------
# Output helpers
# ---------------------------------------------------------------------------------------------
info() { printf '%s\n' "$*"; }
step() { printf '\n==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
fatal() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'error: %s\n' "$*" >&2
  printf "Run 'sh install.sh --help' for the options.\n" >&2
  exit 2
}

usage() {
  cat <<'EOF'
Camel Runner appliance installer

Usage:
  install.sh --role hub --token <license token> [options]          single machine (the default path)
  install.sh --role worker --hub-ip <ip> --token <join token> [options]   add a worker (advanced)
  install.sh --uninstall [--yes]                                      remove the appliance

Options:
  --role hub|worker        what this machine becomes (default: hub)
  --token <token>          hub: the license token from your vendor
                           worker: the join token printed by 'runner-ctl worker-token' on the hub
  --token-file <file>      read the token from a file instead of the command line
  --hub-ip <ip>            worker only: the hub's address
  --airgap-bundle <file>   install from this bundle file (no download)
  --bundle-url <url>       download the bundle from here (default: the vendor's stable channel)
  --proxy <url>            HTTP(S) proxy for outbound traffic (sets HTTP_PROXY and HTTPS_PROXY)
  --no-proxy <list>        addresses that bypass the proxy (the cluster ranges are required)
  --ca-file <file>         extra CA certificate (PEM) to trust, e.g. of a TLS-inspecting proxy
  --tls-san <name>         extra name or address for the hub's certificate (repeatable)
  --cloud-url <url>        hub only: the vendor's cloud, when your vendor gives one (default: the chart's)
  --dry-run                check and print the plan; change nothing
  --uninstall              remove K3s, the appliance and ALL volume data (backups are kept)
  --yes                    do not ask for confirmation
  --help                   this text

Exit codes: 0 success, 1 failure (a preflight check, a verification or a step failed), 2 usage error.
EOF
}

# ---------------------------------------------------------------------------------------------
# Paths. HOST paths are what the running system sees (written into config files);
# R_* are the same paths under RUNNER_ROOT (where this script reads and writes).
# ---------------------------------------------------------------------------------------------
setup_paths() {
  ROOT=${RUNNER_ROOT:-}
  ROOT=${ROOT%/}
  BIN_DIR=/usr/local/bin
  LIB_DIR=/usr/local/lib/$PRODUCT
  CONF_DIR=/etc/$PRODUCT
  SECRETS_DIR=$CONF_DIR/secrets
  STATE_DIR=/var/lib/$PRODUCT
  K3S_ETC=/etc/rancher/k3s
  K3S_DATA=/var/lib/rancher/k3s
  IMAGES_DIR=$K3S_DATA/agent/images
  KUBECONFIG_PATH=$K3S_ETC/k3s.yaml
  R_BIN_DIR=$ROOT$BIN_DIR
  R_LIB_DIR=$ROOT$LIB_DIR
  R_CONF_DIR=$ROOT$CONF_DIR
  R_SECRETS_DIR=$ROOT$SECRETS_DIR
  R_STATE_DIR=$ROOT$STATE_DIR
  R_K3S_ETC=$ROOT$K3S_ETC
  R_IMAGES_DIR=$ROOT$IMAGES_DIR
  RUNNER_CONF=$R_CONF_DIR/runner.conf
  WAIT_SECONDS=${RUNNER_WAIT_SECONDS:-600}
}

# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------
parse_args() {
  ROLE=
  TOKEN=
  TOKEN_FILE=
  HUB_IP=
  BUNDLE_FILE=
  BUNDLE_URL=
  OPT_PROXY=
  OPT_PROXY_SET=
  OPT_NO_PROXY=
  OPT_NO_PROXY_SET=
  OPT_CA_FILE=
  OPT_TLS_SAN=
  OPT_CLOUD_URL=
  DRY_RUN=
  UNINSTALL=
  ASSUME_YES=
  while [ $# -gt 0 ]; do
    case $1 in
      --role | --token | --token-file | --hub-ip | --airgap-bundle | --bundle-url | --proxy | --no-proxy | --ca-file | --tls-san | --cloud-url)
        [ $# -ge 2 ] || usage_error "$1 needs a value"
        set_option "$1" "$2"
        shift 2
        ;;
      --role=* | --token=* | --token-file=* | --hub-ip=* | --airgap-bundle=* | --bundle-url=* | --proxy=* | --no-proxy=* | --ca-file=* | --tls-san=* | --cloud-url=*)
        set_option "${1%%=*}" "${1#*=}"
        shift
        ;;
      --dry-run) DRY_RUN=1 && shift ;;
      --uninstall) UNINSTALL=1 && shift ;;
      --yes | -y) ASSUME_YES=1 && shift ;;
      --help | -h)
        usage
        exit 0
        ;;
      *) usage_error "unknown option: $1" ;;
    esac
  done
  if [ -n "$UNINSTALL" ]; then
    return 0
  fi
  case ${ROLE:=hub} in
    hub | worker) ;;
    *) usage_error "--role must be hub or worker, not '$ROLE'" ;;
  esac
  if [ -n "$TOKEN_FILE" ]; then
    [ -r "$TOKEN_FILE" ] || usage_error "cannot read the token file $TOKEN_FILE"
    TOKEN=$(tr -d ' \r\n\t' <"$TOKEN_FILE")
  fi
  if [ "$ROLE" = worker ] && [ -z "$HUB_IP" ]; then
    HUB_IP=$(conf_get HUB_IP)
    [ -n "$HUB_IP" ] || usage_error "--role worker needs --hub-ip <address of the hub>"
  fi
  if [ "$ROLE" = hub ] && [ -n "$HUB_IP" ]; then
    usage_error "--hub-ip is only for --role worker"
  fi
  if [ -n "$OPT_CA_FILE" ] && [ ! -r "$OPT_CA_FILE" ]; then
    usage_error "cannot read the CA file $OPT_CA_FILE"
  fi
  if [ -n "$BUNDLE_FILE" ] && [ ! -r "$BUNDLE_FILE" ]; then
    usage_error "cannot read the bundle $BUNDLE_FILE"
  fi
  return 0
}

set_option() {
  case $1 in
    --role) ROLE=$2 ;;
    --token) TOKEN=$2 ;;
    --token-file) TOKEN_FILE=$2 ;;
    --hub-ip) HUB_IP=$2 ;;
    --airgap-bundle) BUNDLE_FILE=$2 ;;
    --bundle-url) BUNDLE_URL=$2 ;;
    --proxy) OPT_PROXY=$2 && OPT_PROXY_SET=1 ;;
    --no-proxy) OPT_NO_PROXY=$2 && OPT_NO_PROXY_SET=1 ;;
    --ca-file) OPT_CA_FILE=$2 ;;
    --tls-san) OPT_TLS_SAN="${OPT_TLS_SAN:+$OPT_TLS_SAN,}$2" ;;
    --cloud-url) OPT_CLOUD_URL=$2 ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# The appliance's own settings: /etc/camel-runner/runner.conf (KEY=value lines). A re-run reads
# them back, so options given once are not lost when the next run leaves them out.
# ---------------------------------------------------------------------------------------------
conf_get() {
  [ -f "$RUNNER_CONF" ] || return 0
  sed -n "s/^$1=//p" "$RUNNER_CONF" | tail -n 1
}

resolve_settings() {
  # Role changes need an uninstall first: a hub is never silently turned into a worker.
  saved_role=$(conf_get ROLE)
  if [ -n "$saved_role" ] && [ "$saved_role" != "$ROLE" ]; then
    fatal "this machine is already installed as '$saved_role'; run 'install.sh --uninstall' first to change its role"
  fi
  if [ -z "$TOKEN" ] && [ "$ROLE" = hub ] && [ -f "$R_SECRETS_DIR/license.jwt" ]; then
    TOKEN=$(cat "$R_SECRETS_DIR/license.jwt")
    TOKEN_FROM_SAVED=1
  fi
  if [ -z "$TOKEN" ] && [ "$ROLE" = worker ] && [ -f "$R_SECRETS_DIR/join-token" ]; then
    TOKEN=$(cat "$R_SECRETS_DIR/join-token")
    TOKEN_FROM_SAVED=1
  fi
  [ -n "$TOKEN" ] || usage_error "--token is required (hub: your license token; worker: a join token from 'runner-ctl worker-token' on the hub)"

  # Proxy: the command line wins, then the saved setting, then the environment.
  if [ -n "$OPT_PROXY_SET" ]; then
    PROXY=$OPT_PROXY
  elif [ -f "$RUNNER_CONF" ]; then
    PROXY=$(conf_get HTTPS_PROXY)
  else
    PROXY=${HTTPS_PROXY:-${https_proxy:-${HTTP_PROXY:-${http_proxy:-}}}}
  fi
  if [ -n "$OPT_NO_PROXY_SET" ]; then
    NO_PROXY_VALUE=$OPT_NO_PROXY
    NO_PROXY_GIVEN=1
  elif [ -f "$RUNNER_CONF" ]; then
    NO_PROXY_VALUE=$(conf_get NO_PROXY)
    NO_PROXY_GIVEN=1
  elif [ -n "${NO_PROXY:-${no_proxy:-}}" ]; then
    NO_PROXY_VALUE=${NO_PROXY:-${no_proxy:-}}
    NO_PROXY_GIVEN=1
  else
    NO_PROXY_VALUE=
    NO_PROXY_GIVEN=
  fi
  if [ -n "$PROXY" ] && [ -z "$NO_PROXY_GIVEN" ]; then
    NO_PROXY_VALUE=$CLUSTER_NO_PROXY${HUB_IP:+,$HUB_IP}
  fi
  [ -n "$PROXY" ] || NO_PROXY_VALUE=

  if [ -n "$OPT_CA_FILE" ]; then
    CA_SOURCE=$OPT_CA_FILE
  elif [ -f "$R_CONF_DIR/ca.pem" ]; then
    CA_SOURCE=$R_CONF_DIR/ca.pem
  else
    CA_SOURCE=
  fi

  TLS_SAN=$(conf_get TLS_SAN)
  if [ -n "$OPT_TLS_SAN" ]; then
    TLS_SAN=$OPT_TLS_SAN
  fi

  CLOUD_URL=${OPT_CLOUD_URL:-$(conf_get CLOUD_URL)}
  case $CLOUD_URL in
    '' | https://*) ;;
    *) usage_error "--cloud-url must start with https://" ;;
  esac

  NODE_NAME=$(conf_get NODE_NAME)
  if [ -z "$NODE_NAME" ]; then
    if [ "$ROLE" = hub ]; then
      NODE_NAME=hub
    else
      NODE_NAME=worker-$(host_short_name | tr 'A-Z_.' 'a-z--')
    fi
  fi
  SERVICE=k3s
  [ "$ROLE" = hub ] || SERVICE=k3s-agent
  return 0
}

# ---------------------------------------------------------------------------------------------
# System facts. Each reads one file under RUNNER_ROOT or asks one command, so tests can plant them.
# ---------------------------------------------------------------------------------------------
host_os_id() { sed -n 's/^ID=//p' "$ROOT/etc/os-release" 2>/dev/null | tr -d '"' | head -n 1; }
host_os_version() { sed -n 's/^VERSION_ID=//p' "$ROOT/etc/os-release" 2>/dev/null | tr -d '"' | head -n 1; }
host_os_name() { sed -n 's/^PRETTY_NAME=//p' "$ROOT/etc/os-release" 2>/dev/null | tr -d '"' | head -n 1; }
host_kernel() { uname -s; }
host_arch() {
  case $(uname -m) in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) uname -m ;;
  esac
}
host_init() {
  if [ -x "$ROOT/sbin/openrc-run" ]; then
    echo openrc
  elif [ -d "$ROOT/run/systemd/system" ]; then
    echo systemd
  else
    echo none
  fi
}
host_cpus() { grep -c '^processor' "$ROOT/proc/cpuinfo" 2>/dev/null || echo 0; }
host_mem_mib() { awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' "$ROOT/proc/meminfo" 2>/dev/null || echo 0; }
host_memory_cgroup() {
  if [ -f "$ROOT/sys/fs/cgroup/cgroup.controllers" ]; then
    grep -qw memory "$ROOT/sys/fs/cgroup/cgroup.controllers" && echo yes && return 0
  elif [ -f "$ROOT/proc/cgroups" ]; then
    awk '$1 == "memory" && $4 == 1 { found = 1 } END { exit !found }' "$ROOT/proc/cgroups" && echo yes && return 0
  fi
  echo no
}
host_default_route() {
  if awk 'NR > 1 && $2 == "00000000" { found = 1 } END { exit !found }' "$ROOT/proc/net/route" 2>/dev/null; then
    echo yes
  elif awk '$1 == "00000000000000000000000000000000" && $2 == "00" { found = 1 } END { exit !found }' "$ROOT/proc/net/ipv6_route" 2>/dev/null; then
    echo yes
  else
    echo no
  fi
}
host_short_name() {
  name=$(head -n 1 "$ROOT/etc/hostname" 2>/dev/null || true)
  [ -n "$name" ] || name=$(hostname 2>/dev/null || true)
  printf '%s\n' "${name%%.*}"
}
host_full_name() {
  name=$(head -n 1 "$ROOT/etc/hostname" 2>/dev/null || true)
  [ -n "$name" ] || name=$(hostname 2>/dev/null || true)
  printf '%s\n' "$name"
}
host_primary_ip() {
  ip -4 route get 1.1.1.1 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "src") { print $(i + 1); exit } }'
}
# "<size KiB> <available KiB> <use %>" of the file system that holds the K3s data directory.
host_disk() {
  dir=$ROOT$K3S_DATA
  while [ ! -d "$dir" ] && [ "$dir" != "${dir%/*}" ] && [ -n "${dir%/*}" ]; do dir=${dir%/*}; done
  [ -d "$dir" ] || dir=${ROOT:-/}
  df -Pk "$dir" 2>/dev/null | awk 'NR == 2 { gsub("%", "", $5); print $2, $4, $5 }'
}
host_time_sync() {
  if command -v timedatectl >/dev/null 2>&1; then
    case $(timedatectl show -p NTPSynchronized --value 2>/dev/null) in
      yes) echo yes && return 0 ;;
      no) echo no && return 0 ;;
    esac
  fi
  if command -v chronyc >/dev/null 2>&1; then
    if chronyc tracking 2>/dev/null | grep -q 'Leap status *: *Normal'; then echo yes; else echo no; fi
    return 0
  fi
  echo unknown
}
host_firewall() {
  if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q 'Status: active'; then
    echo ufw
  elif command -v firewall-cmd >/dev/null 2>&1 && [ "$(firewall-cmd --state 2>/dev/null)" = running ]; then
    echo firewalld
  else
    echo none
  fi
}
host_selinux_enforcing() {
  if [ "$(cat "$ROOT/sys/fs/selinux/enforce" 2>/dev/null || echo 0)" = 1 ]; then echo yes; else echo no; fi
}
# Listening TCP ports (decimal), from /proc/net/tcp and tcp6 (state 0A = LISTEN).
host_listening_ports() {
  cat "$ROOT/proc/net/tcp" "$ROOT/proc/net/tcp6" 2>/dev/null |
    awk 'NR > 0 && $4 == "0A" { split($2, a, ":"); print a[2] }' |
    while read -r hex; do printf '%d\n' "0x$hex"; done | sort -u
}
is_root() { [ -n "$ROOT" ] || [ "$(id -u)" = 0 ]; }

# ---------------------------------------------------------------------------------------------
# Preflight: one pass / warn / FAIL line per check; any FAIL stops the run before any change.
# ---------------------------------------------------------------------------------------------
PF_FAIL=0
PF_WARN=0
PF_PASS=0
pf_pass() {
  PF_PASS=$((PF_PASS + 1))
  printf '  [pass] %s\n' "$*"
}
pf_warn() {
  PF_WARN=$((PF_WARN + 1))
  printf '  [warn] %s\n' "$*"
}
pf_fail() {
  PF_FAIL=$((PF_FAIL + 1))
  printf '  [FAIL] %s\n' "$*"
}

preflight() {
  step "Preflight checks ($ROLE)"
  check_root
  check_os
  check_arch
  check_init
  check_cpu
  check_memory
  check_disk
  check_memory_cgroup
  check_default_route
  check_hostname
  check_time_sync
  check_proxy
  check_firewall
  check_selinux
  check_tools
  if [ "$ROLE" = hub ]; then
    check_ports_free
  else
    check_hub_api
    check_hub_vxlan
    check_path_mtu
    check_join_token
  fi
  printf 'Preflight: %d passed, %d warnings, %d failed.\n' "$PF_PASS" "$PF_WARN" "$PF_FAIL"
  if [ "$PF_FAIL" -gt 0 ]; then
    fatal "preflight failed. Nothing was changed. Fix the [FAIL] lines above and run the same command again."
  fi
}

check_root() {
  if is_root; then pf_pass "running as root"; else pf_fail "run as root (for example: sudo sh install.sh ...)"; fi
}

check_os() {
  kernel=$(host_kernel)
  if [ "$kernel" != Linux ]; then
    pf_fail "operating system: $kernel is not supported; use Ubuntu, Debian, Alpine, RHEL, Rocky or AlmaLinux"
    return 0
  fi
  id=$(host_os_id)
  ver=$(host_os_version)
  major=${ver%%.*}
  case $id in
    ubuntu) [ "${major:-0}" -ge 20 ] && ok=1 || ok= ;;
    debian) [ "${major:-0}" -ge 11 ] && ok=1 || ok= ;;
    alpine) minor=${ver#*.} && minor=${minor%%.*} && { [ "${major:-0}" -gt 3 ] || [ "${minor:-0}" -ge 18 ]; } && ok=1 || ok= ;;
    rhel | rocky | almalinux | centos | ol) [ "${major:-0}" -ge 8 ] && ok=1 || ok= ;;
    sles | opensuse-leap) ok=1 ;;
    '')
      pf_fail "operating system: cannot read /etc/os-release"
      return 0
      ;;
    *)
      pf_warn "operating system: $(host_os_name) is not tested; Ubuntu, Debian, Alpine, RHEL, Rocky and AlmaLinux are"
      return 0
      ;;
  esac
  if [ -n "$ok" ]; then
    pf_pass "operating system: $(host_os_name)"
  else
    pf_fail "operating system: $(host_os_name) is too old (need Ubuntu 20.04+, Debian 11+, Alpine 3.18+, RHEL/Rocky/Alma 8+)"
  fi
}

check_arch() {
  arch=$(host_arch)
  case $arch in
    amd64 | arm64) pf_pass "architecture: $arch" ;;
    *) pf_fail "architecture: $arch is not supported (need x86_64 or aarch64)" ;;
  esac
}

check_init() {
  case $(host_init) in
    systemd) pf_pass "service manager: systemd" ;;
    openrc) pf_pass "service manager: OpenRC" ;;
    *) pf_fail "service manager: neither systemd nor OpenRC found; the appliance needs one of them to run K3s" ;;
  esac
}

check_cpu() {
  cpus=$(host_cpus)
  if [ "$ROLE" = hub ]; then min=2 good=4; else min=1 good=2; fi
  if [ "$cpus" -lt "$min" ]; then
    pf_fail "CPU: $cpus core(s); a $ROLE needs at least $min"
  elif [ "$cpus" -lt "$good" ]; then
    pf_warn "CPU: $cpus core(s); $good or more recommended for a $ROLE"
  else
    pf_pass "CPU: $cpus cores"
  fi
}

check_memory() {
  mib=$(host_mem_mib)
  if [ "$ROLE" = hub ]; then min=1800 min_label="2 GiB" good=3800; else min=480 min_label="512 MiB" good=1900; fi
  if [ "$mib" -lt "$min" ]; then
    pf_fail "memory: ${mib} MiB; a $ROLE needs at least $min_label (add memory to the VM)"
  elif [ "$mib" -lt "$good" ]; then
    pf_warn "memory: ${mib} MiB; $(((good + 200) / 1024)) GiB or more recommended for a $ROLE"
  else
    pf_pass "memory: ${mib} MiB"
  fi
}

check_disk() {
  disk=$(host_disk)
  if [ -z "$disk" ]; then
    pf_warn "disk: could not measure the space for $K3S_DATA"
    return 0
  fi
  # shellcheck disable=SC2086 # split "size avail use%" into three fields
  set -- $disk
  size_gib=$(($1 / 1048576))
  free_gib=$(($2 / 1048576))
  used=$3
  if [ "$free_gib" -lt 10 ]; then
    pf_fail "disk: ${free_gib} GiB free for $K3S_DATA; at least 10 GiB free is needed (images, logs, volumes)"
  elif [ "$used" -ge 90 ]; then
    pf_fail "disk: the file system of $K3S_DATA is ${used}% full; free space until it is below 80%"
  elif [ "$size_gib" -lt 40 ] || [ "$used" -ge 80 ]; then
    pf_warn "disk: ${size_gib} GiB, ${used}% used; 40 GiB or more and less than 80% used are recommended"
  else
    pf_pass "disk: ${size_gib} GiB, ${free_gib} GiB free (${used}% used)"
  fi
}

check_memory_cgroup() {
  if [ "$(host_memory_cgroup)" = yes ]; then
    pf_pass "memory cgroup: enabled"
  else
    pf_fail "memory cgroup: not enabled; add 'cgroup_enable=memory cgroup_memory=1' to the kernel command line and reboot"
  fi
}

check_default_route() {
  if [ "$(host_default_route)" = yes ]; then
    pf_pass "network: default route present"
  else
    pf_fail "network: no default route; K3s needs one (air gap: 'ip link add dummy0 type dummy && ip link set dummy0 up && ip route add default dev dummy0')"
  fi
}

check_hostname() {
  name=$(host_full_name)
  case $name in
    '' | localhost | localhost.*)
      pf_fail "hostname: '$name' is not a unique name; set one with 'hostnamectl set-hostname <name>' (or edit /etc/hostname)"
      ;;
    *.local)
      pf_warn "hostname: '$name' ends in .local (mDNS), which Kubernetes cannot resolve; prefer a plain name"
      ;;
    *) pf_pass "hostname: $name (node name: $NODE_NAME)" ;;
  esac
}

check_time_sync() {
  case $(host_time_sync) in
    yes) pf_pass "time: synchronised" ;;
    no) pf_warn "time: the clock is not synchronised; certificates and the license check need the right time (enable NTP: 'timedatectl set-ntp true' or chronyd)" ;;
    *) pf_warn "time: could not tell whether the clock is synchronised (no timedatectl or chronyc)" ;;
  esac
}

check_proxy() {
  if [ -z "$PROXY" ]; then
    pf_pass "proxy: none"
    return 0
  fi
  missing=
  for need in $REQUIRED_NO_PROXY ${HUB_IP:+$HUB_IP}; do
    case ",$NO_PROXY_VALUE," in
      *",$need,"*) ;;
      *) missing="$missing $need" ;;
    esac
  done
  if [ -n "$missing" ]; then
    pf_fail "proxy: NO_PROXY must contain$missing (use: --no-proxy '$CLUSTER_NO_PROXY${HUB_IP:+,$HUB_IP}' plus your own entries)"
  else
    pf_pass "proxy: $(redact_url "$PROXY"), NO_PROXY covers loopback and the cluster ranges"
  fi
}

redact_url() { printf '%s\n' "$1" | sed 's#//[^/@]*@#//***@#'; }

check_firewall() {
  fw=$(host_firewall)
  case $fw in
    none) pf_pass "firewall: no active host firewall (ufw, firewalld)" ;;
    ufw)
      pf_warn "firewall: ufw is active; allow the cluster: 'ufw allow 6443/tcp; ufw allow 8472/udp; ufw allow 10250/tcp; ufw allow 80,443/tcp; ufw allow from 10.42.0.0/16; ufw allow from 10.43.0.0/16'"
      ;;
    firewalld)
      pf_warn "firewall: firewalld is active; allow the cluster: 'firewall-cmd --permanent --add-port={6443,10250,80,443}/tcp --add-port=8472/udp; firewall-cmd --permanent --zone=trusted --add-source={10.42.0.0/16,10.43.0.0/16}; firewall-cmd --reload'"
      ;;
  esac
}

check_selinux() {
  if [ "$(host_selinux_enforcing)" = yes ]; then
    pf_warn "SELinux: enforcing; install the k3s-selinux package before installing (air gap: copy the RPM)"
  else
    pf_pass "SELinux: not enforcing"
  fi
}

check_tools() {
  missing=
  for tool in tar gzip awk sed openssl; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
  done
  if [ -n "$missing" ]; then
    pf_fail "tools: missing$missing (Alpine: 'apk add$missing'; Debian/Ubuntu: 'apt-get install$missing')"
  else
    pf_pass "tools: tar, gzip, openssl present"
  fi
}

check_ports_free() {
  if [ -f "$R_STATE_DIR/installed" ]; then
    pf_pass "ports: 80, 443, 6443 (already used by this appliance)"
    return 0
  fi
  busy=
  ports=$(host_listening_ports)
  for port in 80 443 6443 10250; do
    if printf '%s\n' "$ports" | grep -qx "$port"; then busy="$busy $port"; fi
  done
  if [ -n "$busy" ]; then
    pf_fail "ports:$busy/tcp already in use by another program; stop it (the appliance serves its console on 80/443 and Kubernetes on 6443)"
  else
    pf_pass "ports: 80, 443, 6443, 10250 free"
  fi
}

check_hub_api() {
  if nc -z -w 5 "$HUB_IP" 6443 >/dev/null 2>&1; then
    pf_pass "hub: $HUB_IP:6443/tcp reachable"
  else
    pf_fail "hub: cannot reach $HUB_IP:6443/tcp; open 6443/tcp from this machine to the hub (host firewall and network ACLs)"
  fi
}

check_hub_vxlan() {
  # UDP has no handshake: nc only fails when the hub (or a firewall) answers ICMP port-unreachable.
  if nc -z -u -w 3 "$HUB_IP" 8472 >/dev/null 2>&1; then
    pf_pass "hub: $HUB_IP:8472/udp (VXLAN) not rejected"
  else
    pf_fail "hub: $HUB_IP:8472/udp (VXLAN) is rejected; open 8472/udp in both directions between the hub and the workers"
  fi
}

check_path_mtu() {
  # 1472 bytes of ICMP payload + 28 bytes of headers = a full 1500-byte packet that must not be fragmented.
  if ping -c 1 -W 3 -M "do" -s 1472 "$HUB_IP" >/dev/null 2>&1; then
    pf_pass "hub: path MTU 1500 (full-size packets pass unfragmented)"
  elif ping -c 1 -W 3 "$HUB_IP" >/dev/null 2>&1; then
    pf_warn "hub: full-size packets to $HUB_IP do not pass (path MTU below 1500); pod traffic between machines may stall. Ask the network team, or set the MTU of this machine's interface to the path MTU"
  else
    pf_warn "hub: $HUB_IP does not answer ping; path MTU not checked"
  fi
}

# A worker joins with a short-lived bootstrap token in the secure K10 format (it pins the hub's
# CA): K10<sha256 of the hub CA>::<6 chars>.<16 chars>, made by 'k3s token create --ttl' on the hub.
check_join_token() {
  case $TOKEN in
    K10*::server:*)
      pf_fail "join token: this is the hub's server token; never copy it to workers. On the hub run 'runner-ctl worker-token' and use the token it prints"
      return 0
      ;;
    K10*::node:*)
      pf_fail "join token: this is a long-lived agent token; on the hub run 'runner-ctl worker-token' for a short-lived join token"
      return 0
      ;;
  esac
  ca_hash=$(printf '%s' "$TOKEN" | sed -n 's/^K10\([0-9a-f]\{64\}\)::[a-z0-9]\{6\}\.[a-z0-9]\{16\}$/\1/p')
  if [ -z "$ca_hash" ]; then
    if [ -n "${TOKEN_FROM_SAVED:-}" ] && [ -f "$R_STATE_DIR/installed" ]; then
      pf_pass "join token: already joined"
      return 0
    fi
    pf_fail "join token: not a join token (expected K10<hash>::<id>.<secret>); on the hub run 'runner-ctl worker-token' and pass what it prints to --token"
    return 0
  fi
  actual=$(curl -fsSk --max-time 10 "https://$HUB_IP:6443/cacerts" 2>/dev/null | sha256_stdin)
  if [ -z "$actual" ]; then
    pf_warn "join token: could not fetch the hub's CA from https://$HUB_IP:6443/cacerts to compare; K3s will check it when joining"
  elif [ "$actual" = "$ca_hash" ]; then
    pf_pass "join token: pins the hub's CA (sha256 $(printf '%s' "$ca_hash" | cut -c1-12)...)"
  else
    pf_fail "join token: the hub at $HUB_IP has a different CA than the token names (was the hub reinstalled, or is this the wrong address?); create a new token on the hub with 'runner-ctl worker-token'"
  fi
}

sha256_stdin() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum | awk '{ print $1 }'
  else
    openssl dgst -sha256 -r | awk '{ print $1 }'
  fi
}
sha256_file() { sha256_stdin <"$1"; }

# ---------------------------------------------------------------------------------------------
# Bundle: a tar.gz with VERSION, ARCH, bin/k3s, bin/helm, [bin/node], runner-ctl.mjs,
# images/*.tar.zst, charts/runner/, jwks.json, SHA256SUMS and SHA256SUMS.sig.
# ---------------------------------------------------------------------------------------------
fetch_bundle() {
  step "Bundle"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$PRODUCT-install.XXXXXX")
  BUNDLE_DIR=$WORK/bundle
  mkdir -p "$BUNDLE_DIR"
  if [ -z "$BUNDLE_FILE" ]; then
    url=${BUNDLE_URL:-$(printf '%s' "$DEFAULT_BUNDLE_URL" | sed "s/%ARCH%/$(host_arch)/")}
    info "Downloading $url"
    BUNDLE_FILE=$WORK/bundle.tar.gz
    if command -v curl >/dev/null 2>&1; then
      https_proxy=$PROXY no_proxy=$NO_PROXY_VALUE curl -fsSL ${CA_SOURCE:+--cacert "$CA_SOURCE"} -o "$BUNDLE_FILE" "$url" ||
        fatal "could not download the bundle from $url (offline? use --airgap-bundle <file>)"
    else
      https_proxy=$PROXY no_proxy=$NO_PROXY_VALUE wget -q -O "$BUNDLE_FILE" "$url" ||
        fatal "could not download the bundle from $url (offline? use --airgap-bundle <file>)"
    fi
  fi
  tar -xzf "$BUNDLE_FILE" -C "$BUNDLE_DIR" 2>/dev/null || fatal "$BUNDLE_FILE is not a readable bundle (tar.gz)"
  verify_bundle
  BUNDLE_VERSION=$(cat "$BUNDLE_DIR/VERSION")
  bundle_arch=$(cat "$BUNDLE_DIR/ARCH" 2>/dev/null || echo unknown)
  [ "$bundle_arch" = "$(host_arch)" ] || fatal "the bundle is for $bundle_arch but this machine is $(host_arch); download the $(host_arch) bundle"
  info "Bundle $BUNDLE_VERSION ($bundle_arch): signature and checksums verified."
}

verify_bundle() {
  if [ ! -f "$BUNDLE_DIR/SHA256SUMS" ] || [ ! -f "$BUNDLE_DIR/SHA256SUMS.sig" ]; then
    fatal "the bundle has no SHA256SUMS or SHA256SUMS.sig; it is not an official bundle"
  fi
  keyfile=$WORK/release.pub
  if [ -n "${RUNNER_RELEASE_PUBKEY_FILE:-}" ]; then
    cp "$RUNNER_RELEASE_PUBKEY_FILE" "$keyfile"
  else
    printf '%s\n' "$RELEASE_PUBKEY" >"$keyfile"
  fi
  openssl pkeyutl -verify -pubin -inkey "$keyfile" -rawin -in "$BUNDLE_DIR/SHA256SUMS" \
    -sigfile "$BUNDLE_DIR/SHA256SUMS.sig" >/dev/null 2>&1 ||
    fatal "the bundle's signature is not valid: it was not signed by the vendor's release key, or it was changed. Do not use it."
  # Every listed file must match, and every file in the bundle must be listed.
  (cd "$BUNDLE_DIR" && find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig | sed 's#^\./##' | sort) >"$WORK/files"
  awk '{ sub(/^\*/, "", $2); print $2 }' "$BUNDLE_DIR/SHA256SUMS" | sort >"$WORK/listed"
  if ! cmp -s "$WORK/files" "$WORK/listed"; then
    fatal "the bundle's files do not match its SHA256SUMS list (extra or missing files); do not use it"
  fi
  while read -r sum file; do
    file=${file#\*}
    [ "$(sha256_file "$BUNDLE_DIR/$file")" = "$sum" ] || fatal "checksum mismatch for $file in the bundle; the download is damaged or was changed"
  done <"$BUNDLE_DIR/SHA256SUMS"
  for need in VERSION ARCH bin/k3s bin/helm runner-ctl.mjs jwks.json; do
    [ -f "$BUNDLE_DIR/$need" ] || fatal "the bundle lacks $need"
  done
  [ -d "$BUNDLE_DIR/charts/runner" ] || fatal "the bundle lacks charts/runner"
}

node_bin() {
  if [ -f "$BUNDLE_DIR/bin/node" ]; then
    chmod 0755 "$BUNDLE_DIR/bin/node"
    echo "$BUNDLE_DIR/bin/node"
  elif command -v node >/dev/null 2>&1; then
    command -v node
  fi
}

# The license is verified offline by runner-ctl (the shared verifier) against the bundle's JWKS.
verify_license() {
  [ "$ROLE" = hub ] || return 0
  step "License"
  node=$(node_bin)
  [ -n "$node" ] || fatal "no Node.js runtime: the bundle has no bin/node and 'node' is not installed"
  (umask 077 && printf '%s' "$TOKEN" >"$WORK/license.jwt")
  if ! LICENSE_JSON=$("$node" "$BUNDLE_DIR/runner-ctl.mjs" license verify --token-file "$WORK/license.jwt" \
    --jwks "$BUNDLE_DIR/jwks.json" --json 2>"$WORK/license.err"); then
    fatal "the license token is not valid: $(cat "$WORK/license.err"). Nothing was changed."
  fi
  info "License valid: $(printf '%s' "$LICENSE_JSON" | sed -n 's/.*"summary" *: *"\([^"]*\)".*/\1/p')"
}

# ---------------------------------------------------------------------------------------------
# Change helpers: compare, then write atomically (or say what would change in --dry-run).
# ---------------------------------------------------------------------------------------------
CHANGES=0
changed() {
  CHANGES=$((CHANGES + 1))
  if [ -n "$DRY_RUN" ]; then printf '  would %s\n' "$*"; else printf '  %s\n' "$*"; fi
}
unchanged() { printf '  unchanged: %s\n' "$*"; }

ensure_dir() { # <dir> <mode>
  if [ ! -d "$1" ]; then
    [ -n "$DRY_RUN" ] || { mkdir -p "$1" && chmod "$2" "$1"; }
  fi
}

# put_file <source file> <host path> <mode> <label>: installs when content or mode differ.
put_file() {
  dest=$ROOT$2
  if [ -f "$dest" ] && cmp -s "$1" "$dest" && [ "$(file_mode "$dest")" = "$3" ]; then
    unchanged "$4 ($2)"
    return 1
  fi
  changed "install $4 ($2)"
  [ -z "$DRY_RUN" ] || return 0
  mkdir -p "${dest%/*}"
  cp "$1" "$dest.tmp.$$"
  chmod "$3" "$dest.tmp.$$"
  mv -f "$dest.tmp.$$" "$dest"
  return 0
}

# put_content <host path> <mode> <label> <content...> (content on stdin)
put_content() {
  cat >"$WORK/content"
  put_file "$WORK/content" "$1" "$2" "$3"
}

file_mode() {
  if stat -c %a "$1" >/dev/null 2>&1; then stat -c %a "$1"; else stat -f %Lp "$1"; fi
}

print_file_plan() { # in --dry-run, show the content that would be written
  [ -n "$DRY_RUN" ] || return 0
  sed 's/^/      | /' "$1"
}

# ---------------------------------------------------------------------------------------------
# Install steps
# ---------------------------------------------------------------------------------------------
K3S_CHANGED=
HELM_INPUT_CHANGED=
# A change is also recorded on disk, so a run interrupted between a change and the restart (or
# the chart upgrade) that applies it still applies it when run again.
k3s_changed() {
  K3S_CHANGED=1
  [ -n "$DRY_RUN" ] || { mkdir -p "$R_STATE_DIR" && : >"$R_STATE_DIR/k3s-restart-pending"; }
}
helm_changed() {
  HELM_INPUT_CHANGED=1
  [ -n "$DRY_RUN" ] || { mkdir -p "$R_STATE_DIR" && : >"$R_STATE_DIR/chart-upgrade-pending"; }
}
take_lock() {
  [ -z "$DRY_RUN" ] || return 0
  mkdir -p "$ROOT/run"
  LOCK=$ROOT/run/$PRODUCT-install.lock
  if ! mkdir "$LOCK" 2>/dev/null; then
    pid=$(cat "$LOCK/pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      fatal "another install.sh (pid $pid) is running; wait for it to finish"
    fi
    warn "taking over the lock of an interrupted run (pid ${pid:-unknown})"
  fi
  echo $$ >"$LOCK/pid"
}

cleanup() {
  [ -z "${WORK:-}" ] || rm -rf "$WORK"
  [ -z "${LOCK:-}" ] || rm -rf "$LOCK"
}

install_dirs() {
  step "Plan${DRY_RUN:+ (dry run: nothing is changed)}"
  for d in "$R_CONF_DIR:755" "$R_SECRETS_DIR:700" "$R_STATE_DIR:700" "$R_K3S_ETC:755" "$R_IMAGES_DIR:755" "$R_BIN_DIR:755" "$R_LIB_DIR:755"; do
    ensure_dir "${d%:*}" "${d##*:}"
  done
}

install_binaries() {
  put_file "$BUNDLE_DIR/bin/k3s" "$BIN_DIR/k3s" 755 "K3s binary" && k3s_changed
  put_file "$BUNDLE_DIR/bin/helm" "$BIN_DIR/helm" 755 "helm binary" || true
  put_file "$BUNDLE_DIR/runner-ctl.mjs" "$LIB_DIR/runner-ctl.mjs" 644 "runner-ctl" || true
  put_file "$BUNDLE_DIR/jwks.json" "$LIB_DIR/jwks.json" 644 "license keys (jwks.json)" || true
  if [ -f "$BUNDLE_DIR/bin/node" ]; then
    put_file "$BUNDLE_DIR/bin/node" "$LIB_DIR/node" 755 "Node.js runtime for runner-ctl" || true
    node_path=$LIB_DIR/node
  else
    node_path=node
  fi
  put_content "$BIN_DIR/runner-ctl" 755 "runner-ctl command" <<EOF || true
#!/bin/sh
# Camel Runner appliance CLI (installed by install.sh)
export RUNNER_KUBECONFIG=\${RUNNER_KUBECONFIG:-$KUBECONFIG_PATH}
exec $node_path $LIB_DIR/runner-ctl.mjs "\$@"
EOF
  for link in kubectl crictl ctr; do
    if [ ! -e "$R_BIN_DIR/$link" ] && ! command -v "$link" >/dev/null 2>&1; then
      changed "link $BIN_DIR/$link to k3s"
      [ -n "$DRY_RUN" ] || ln -sf k3s "$R_BIN_DIR/$link"
    fi
  done
}

install_images() {
  for image in "$BUNDLE_DIR"/images/*; do
    [ -f "$image" ] || continue
    put_file "$image" "$IMAGES_DIR/${image##*/}" 644 "images ${image##*/}" && k3s_changed
  done
  return 0
}

install_license() {
  if [ "$ROLE" = hub ]; then
    if printf '%s' "$TOKEN" | put_content "$SECRETS_DIR/license.jwt" 600 "license token"; then helm_changed; fi
    if [ ! -f "$R_SECRETS_DIR/agent-token" ]; then
      changed "create the agent token ($SECRETS_DIR/agent-token; workers never get it, they use short-lived join tokens)"
      if [ -z "$DRY_RUN" ]; then
        (umask 077 && random_hex 32 >"$R_SECRETS_DIR/agent-token")
      fi
      k3s_changed
    else
      unchanged "agent token ($SECRETS_DIR/agent-token)"
    fi
  else
    case $TOKEN in
      K10*::*.*)
        if printf '%s' "$TOKEN" | put_content "$SECRETS_DIR/join-token" 600 "join token"; then k3s_changed; fi
        ;;
    esac
  fi
  return 0
}

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

install_ca() {
  [ -n "$CA_SOURCE" ] || return 0
  if ! grep -q 'BEGIN CERTIFICATE' "$CA_SOURCE"; then
    fatal "$CA_SOURCE is not a PEM certificate"
  fi
  if put_file "$CA_SOURCE" "$CONF_DIR/ca.pem" 644 "extra CA certificate"; then helm_changed; fi
  # The host trust store (containerd pulls, curl) gets it too.
  if [ -d "$ROOT/usr/local/share/ca-certificates" ] || command -v update-ca-certificates >/dev/null 2>&1; then
    if put_file "$CA_SOURCE" "/usr/local/share/ca-certificates/$PRODUCT.crt" 644 "CA in the system trust store"; then
      k3s_changed
      [ -n "$DRY_RUN" ] || ! command -v update-ca-certificates >/dev/null 2>&1 || update-ca-certificates >/dev/null 2>&1 || true
    fi
  elif [ -d "$ROOT/etc/pki/ca-trust/source/anchors" ]; then
    if put_file "$CA_SOURCE" "/etc/pki/ca-trust/source/anchors/$PRODUCT.crt" 644 "CA in the system trust store"; then
      k3s_changed
      [ -n "$DRY_RUN" ] || update-ca-trust >/dev/null 2>&1 || true
    fi
  fi
  return 0
}

# Every K3s setting lives in config.yaml, so a re-run (or a K3s upgrade) never loses one.
write_k3s_config() {
  {
    echo "# Written by $PRODUCT install.sh $INSTALLER_VERSION. Do not edit: change the settings with"
    echo "# install.sh or 'runner-ctl config set' and they are written here again."
    echo "node-name: \"$NODE_NAME\""
    echo "node-label:"
    echo "  - \"$PRODUCT.io/role=$ROLE\""
    if [ "$ROLE" = hub ]; then
      echo "  - \"svccontroller.k3s.cattle.io/enablelb=true\""
      echo "write-kubeconfig-mode: \"0600\""
      echo "agent-token-file: \"$SECRETS_DIR/agent-token\""
      echo "tls-san:"
      for san in $(hub_sans); do echo "  - \"$san\""; done
    else
      echo "server: \"https://$HUB_IP:6443\""
      echo "token-file: \"$SECRETS_DIR/join-token\""
    fi
    echo "data-dir: \"$K3S_DATA\""
    echo "default-local-storage-path: \"$K3S_DATA/storage\""
  } >"$WORK/config.yaml"
  if put_file "$WORK/config.yaml" "$K3S_ETC/config.yaml" 600 "K3s settings"; then
    k3s_changed
    print_file_plan "$WORK/config.yaml"
  fi
}

hub_sans() {
  {
    [ -z "$(host_primary_ip)" ] || host_primary_ip
    host_full_name
    printf '%s\n' "$TLS_SAN" | tr ',' '\n'
  } | awk 'NF && !seen[$0]++'
}

proxy_env() {
  [ -n "$PROXY" ] || return 0
  echo "HTTP_PROXY=$PROXY"
  echo "HTTPS_PROXY=$PROXY"
  echo "NO_PROXY=$NO_PROXY_VALUE"
  echo "CONTAINERD_HTTP_PROXY=$PROXY"
  echo "CONTAINERD_HTTPS_PROXY=$PROXY"
  echo "CONTAINERD_NO_PROXY=$NO_PROXY_VALUE"
}

# The service definition names no settings: they are in config.yaml. The proxy variables (K3s
# reads them only from the environment) are generated from runner.conf on every run.
write_service() {
  proxy_env >"$WORK/k3s.env"
  if put_file "$WORK/k3s.env" "$CONF_DIR/k3s.env" 600 "proxy environment for K3s"; then k3s_changed; fi
  if [ "$ROLE" = hub ]; then cmd=server; else cmd=agent; fi
  if [ "$(host_init)" = openrc ]; then
    cat >"$WORK/service" <<EOF
#!/sbin/openrc-run
# $PRODUCT: K3s $cmd (written by install.sh)
depend() {
  after network-online
  want cgroups
}
supervisor=supervise-daemon
name=$SERVICE
command="$BIN_DIR/k3s"
command_args="$cmd"
output_log="/var/log/$SERVICE.log"
error_log="/var/log/$SERVICE.log"
pidfile="/var/run/$SERVICE.pid"
respawn_delay=5
respawn_max=0
set -o allexport
if [ -f $CONF_DIR/k3s.env ]; then . $CONF_DIR/k3s.env; fi
set +o allexport
EOF
    if put_file "$WORK/service" "/etc/init.d/$SERVICE" 755 "OpenRC service $SERVICE"; then k3s_changed; fi
  else
    cat >"$WORK/service" <<EOF
[Unit]
Description=Camel Runner appliance: K3s $cmd
Documentation=https://docs.k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-$CONF_DIR/k3s.env
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=$BIN_DIR/k3s $cmd
EOF
    if put_file "$WORK/service" "/etc/systemd/system/$SERVICE.service" 644 "systemd unit $SERVICE"; then
      k3s_changed
      UNIT_CHANGED=1
    fi
  fi
  return 0
}

service_active() {
  if [ "$(host_init)" = openrc ]; then
    rc-service "$SERVICE" status >/dev/null 2>&1
  else
    systemctl is-active --quiet "$SERVICE"
  fi
}

start_k3s() {
  if [ -n "$K3S_CHANGED" ] || [ -f "$R_STATE_DIR/k3s-restart-pending" ]; then
    changed "(re)start the $SERVICE service"
  elif service_active; then
    unchanged "$SERVICE service running"
    return 0
  else
    changed "start the $SERVICE service (it was stopped)"
  fi
  [ -z "$DRY_RUN" ] || return 0
  if [ "$(host_init)" = openrc ]; then
    rc-update add "$SERVICE" default >/dev/null
    rc-service "$SERVICE" restart || fatal "the $SERVICE service did not start; see /var/log/$SERVICE.log, then run the same command again"
  else
    [ -z "${UNIT_CHANGED:-}" ] || systemctl daemon-reload
    systemctl enable "$SERVICE" >/dev/null 2>&1
    systemctl restart "$SERVICE" || fatal "the $SERVICE service did not start; see 'journalctl -u $SERVICE', then run the same command again"
  fi
  rm -f "$R_STATE_DIR/k3s-restart-pending"
}

kubectl_k3s() { KUBECONFIG=$ROOT$KUBECONFIG_PATH "$R_BIN_DIR/k3s" kubectl "$@"; }

wait_for_node() {
  [ -z "$DRY_RUN" ] || return 0
  [ "$ROLE" = hub ] || return 0
  printf '  waiting for the node to be ready...'
  deadline=$(($(date +%s) + WAIT_SECONDS))
  while :; do
    state=$(kubectl_k3s get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
    [ "$state" = True ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo
      fatal "the node did not become ready within ${WAIT_SECONDS}s; see 'journalctl -u $SERVICE' (systemd) or /var/log/$SERVICE.log (OpenRC), then run the same command again"
    fi
    printf '.'
    sleep 3
  done
  echo ' done'
}

# Appliance-specific values: the license, the proxy and the CA; the profile itself is the chart's
# values-appliance.yaml.
write_helm_values() {
  [ "$ROLE" = hub ] || return 0
  {
    echo "# Written by $PRODUCT install.sh from $CONF_DIR/runner.conf (the license and CA are passed as files)."
    echo "mode: appliance"
    echo "agent:"
    [ -z "$CLOUD_URL" ] || echo "  cloudUrl: \"$CLOUD_URL\""
    echo "  proxy:"
    echo "    httpsProxy: \"$PROXY\""
    echo "    httpProxy: \"$PROXY\""
    echo "    noProxy: \"$NO_PROXY_VALUE\""
  } >"$WORK/values-local.yaml"
  put_file "$WORK/values-local.yaml" "$CONF_DIR/values-local.yaml" 600 "chart settings" && helm_changed
  put_dir "$BUNDLE_DIR/charts/runner" "$LIB_DIR/charts/runner" "runner chart" && helm_changed
  return 0
}

# put_dir <source dir> <host path> <label>: replaces the directory when any file differs.
put_dir() {
  if [ -d "$ROOT$2" ] && diff -r "$1" "$ROOT$2" >/dev/null 2>&1; then
    unchanged "$3 ($2)"
    return 1
  fi
  changed "install $3 ($2)"
  [ -z "$DRY_RUN" ] || return 0
  rm -rf "$ROOT$2.tmp.$$"
  mkdir -p "${ROOT}${2%/*}"
  cp -R "$1" "$ROOT$2.tmp.$$"
  rm -rf "$ROOT$2"
  mv "$ROOT$2.tmp.$$" "$ROOT$2"
}

helm_args() {
  chart=$ROOT$LIB_DIR/charts/runner
  set -- upgrade --install runner "$chart" --namespace "$PRODUCT" --create-namespace
  [ ! -f "$chart/values-appliance.yaml" ] || set -- "$@" -f "$chart/values-appliance.yaml"
  set -- "$@" -f "$R_CONF_DIR/values-local.yaml" --set-file "agent.licenseToken=$R_SECRETS_DIR/license.jwt"
  [ -z "$CA_SOURCE" ] || set -- "$@" --set-file "agent.caBundle.pem=$R_CONF_DIR/ca.pem"
  set -- "$@" --wait --timeout 10m --history-max 10 --kubeconfig "$ROOT$KUBECONFIG_PATH"
  printf '%s\n' "$@"
}

helm_release_deployed() {
  "$R_BIN_DIR/helm" status runner --namespace "$PRODUCT" --kubeconfig "$ROOT$KUBECONFIG_PATH" 2>/dev/null | grep -q 'STATUS: deployed'
}

install_chart() {
  [ "$ROLE" = hub ] || return 0
  if [ -f "$R_STATE_DIR/chart-upgrade-pending" ]; then HELM_INPUT_CHANGED=1; fi
  if [ -z "$HELM_INPUT_CHANGED" ] && [ -z "$DRY_RUN" ] && helm_release_deployed; then
    unchanged "runner release (deployed, same chart and settings)"
    return 0
  fi
  if [ -n "$DRY_RUN" ] && [ -z "$HELM_INPUT_CHANGED" ] && [ -f "$R_STATE_DIR/installed" ]; then
    unchanged "runner release (same chart and settings)"
    return 0
  fi
  changed "helm upgrade --install runner (chart $LIB_DIR/charts/runner, appliance profile, license)"
  [ -z "$DRY_RUN" ] || return 0
  helm_args >"$WORK/helm.args"
  set --
  while IFS= read -r arg; do set -- "$@" "$arg"; done <"$WORK/helm.args"
  if ! "$R_BIN_DIR/helm" "$@" >"$WORK/helm.out" 2>&1; then
    cat "$WORK/helm.out" >&2
    fatal "installing the runner chart failed (see above). Run the same command again; 'runner-ctl support-bundle' collects details for your vendor"
  fi
  rm -f "$R_STATE_DIR/chart-upgrade-pending"
}

save_settings() {
  {
    echo "# $PRODUCT appliance settings (written by install.sh; change with 'runner-ctl config set')."
    echo "ROLE=$ROLE"
    echo "NODE_NAME=$NODE_NAME"
    echo "HUB_IP=$HUB_IP"
    echo "TLS_SAN=$TLS_SAN"
    echo "CLOUD_URL=$CLOUD_URL"
    echo "HTTP_PROXY=$PROXY"
    echo "HTTPS_PROXY=$PROXY"
    echo "NO_PROXY=$NO_PROXY_VALUE"
    echo "CA_FILE=${CA_SOURCE:+$CONF_DIR/ca.pem}"
    echo "BUNDLE_VERSION=$BUNDLE_VERSION"
    echo "HELM=$BIN_DIR/helm"
    echo "KUBECONFIG=$KUBECONFIG_PATH"
    echo "NAMESPACE=$PRODUCT"
    echo "RELEASE=runner"
    echo "CHART=$LIB_DIR/charts/runner"
    echo "STORAGE_DIR=$K3S_DATA/storage"
  } >"$WORK/runner.conf"
  put_file "$WORK/runner.conf" "$CONF_DIR/runner.conf" 600 "appliance settings" || true
}

mark_installed() {
  [ -z "$DRY_RUN" ] || return 0
  [ -f "$R_STATE_DIR/installed" ] && [ "$(cat "$R_STATE_DIR/installed")" = "$BUNDLE_VERSION" ] && return 0
  echo "$BUNDLE_VERSION" >"$R_STATE_DIR/installed"
}

summary() {
  echo
  if [ -n "$DRY_RUN" ]; then
    if [ "$CHANGES" -eq 0 ]; then
      info "Dry run: nothing would change; this machine already matches the bundle and settings."
    else
      info "Dry run: $CHANGES change(s) planned above. Nothing was changed. Run again without --dry-run to apply."
    fi
    return 0
  fi
  if [ "$CHANGES" -eq 0 ]; then
    info "Nothing changed: this machine already matches bundle $BUNDLE_VERSION and its settings."
  else
    info "Done: $CHANGES change(s) applied."
  fi
  if [ "$ROLE" = hub ]; then
    info "The Camel Runner console: https://$(hub_sans | head -n 1)/"
    info "Check the appliance at any time with: runner-ctl status"
    info "To add a worker machine (advanced): run 'runner-ctl worker-token' here and follow what it prints."
  else
    info "Worker $NODE_NAME joined the hub at $HUB_IP. Check it on the hub with: runner-ctl status"
  fi
}

# ---------------------------------------------------------------------------------------------
# Uninstall
# ---------------------------------------------------------------------------------------------
uninstall() {
  step "Uninstall"
  role=$(conf_get ROLE)
  service=k3s
  [ "$role" != worker ] || service=k3s-agent
  cat <<EOF
This removes the Camel Runner appliance from this machine:
  - stops and removes the K3s service ($service) and its binaries
  - DELETES ALL VOLUME DATA under $K3S_DATA/storage (integration data, metrics, logs)
  - deletes the cluster, its certificates and tokens ($K3S_ETC, $K3S_DATA, /etc/rancher/node)
  - deletes the settings and license ($CONF_DIR)
Backups under $STATE_DIR/backups are kept. Take one first with: runner-ctl backup
EOF
  if [ -n "$DRY_RUN" ]; then
    info "Dry run: nothing was removed."
    return 0
  fi
  if [ -z "$ASSUME_YES" ]; then
    if [ ! -t 0 ] && [ -z "${RUNNER_ASSUME_TTY:-}" ]; then
      fatal "refusing to uninstall without confirmation; run with --yes to confirm (all volume data will be lost)"
    fi
    printf "Type 'yes' to delete the appliance and all its data: "
    read -r answer || answer=
    [ "$answer" = yes ] || fatal "not confirmed; nothing was removed"
  fi
  is_root || fatal "run as root"
  stop_services "$service"
  kill_k3s_processes
  cleanup_network
  for path in "$BIN_DIR/k3s" "$BIN_DIR/helm" "$BIN_DIR/runner-ctl" "$LIB_DIR" "$K3S_ETC" "$K3S_DATA" \
    /etc/rancher/node /var/lib/kubelet /run/k3s /run/flannel "$CONF_DIR" "$STATE_DIR/installed" \
    "/etc/systemd/system/$service.service" "/etc/init.d/$service" "/usr/local/share/ca-certificates/$PRODUCT.crt" \
    "/etc/pki/ca-trust/source/anchors/$PRODUCT.crt"; do
    if [ -e "$ROOT$path" ] || [ -L "$ROOT$path" ]; then
      info "  removing $path"
      unmount_under "$ROOT$path"
      rm -rf "$ROOT$path"
    fi
  done
  for link in kubectl crictl ctr; do
    if [ -L "$R_BIN_DIR/$link" ] && [ "$(readlink "$R_BIN_DIR/$link")" = k3s ]; then rm -f "$R_BIN_DIR/$link"; fi
  done
  [ "$(host_init)" = openrc ] || systemctl daemon-reload >/dev/null 2>&1 || true
  info "The appliance was removed. Backups (if any) remain in $STATE_DIR/backups."
}

stop_services() {
  for svc in k3s k3s-agent; do
    if [ "$(host_init)" = openrc ]; then
      [ -f "$ROOT/etc/init.d/$svc" ] || continue
      rc-service "$svc" stop >/dev/null 2>&1 || true
      rc-update del "$svc" default >/dev/null 2>&1 || true
    else
      [ -f "$ROOT/etc/systemd/system/$svc.service" ] || continue
      systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
    info "  stopped $svc"
  done
}

# Containers keep running after K3s stops (KillMode=process): end the shims K3s started.
kill_k3s_processes() {
  for dir in "$ROOT"/proc/[0-9]*; do
    [ -r "$dir/cmdline" ] || continue
    if tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | grep -q "^$K3S_DATA/data/[^ ]*/bin/containerd-shim"; then
      kill -9 "${dir##*/}" 2>/dev/null || true
    fi
  done
}

unmount_under() {
  [ -r "$ROOT/proc/self/mounts" ] || return 0
  awk -v p="$1" 'index($2, p) == 1 { print $2 }' "$ROOT/proc/self/mounts" | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

cleanup_network() {
  [ -z "$ROOT" ] || return 0
  for iface in cni0 flannel.1 flannel-v6.1 kube-ipvs0 flannel-wg flannel-wg-v6; do
    ip link delete "$iface" >/dev/null 2>&1 || true
  done
  if command -v iptables-save >/dev/null 2>&1; then
    iptables-save | grep -v KUBE- | grep -v CNI- | grep -iv flannel | iptables-restore || true
  fi
}

# ---------------------------------------------------------------------------------------------
main() {
  setup_paths
  parse_args "$@"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  if [ -n "$UNINSTALL" ]; then
    uninstall
    exit 0
  fi
  info "Camel Runner appliance installer $INSTALLER_VERSION: role $ROLE${DRY_RUN:+ (dry run)}"
  resolve_settings
  preflight
  take_lock
  fetch_bundle
  verify_license
  install_dirs
  install_binaries
  install_images
  install_license
  install_ca
  write_k3s_config
  write_service
  save_settings
  start_k3s
  wait_for_node
  write_helm_values
  install_chart
  mark_installed
  summary
}

main "$@"
