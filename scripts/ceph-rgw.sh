#!/usr/bin/env bash
# A throwaway one-node Ceph cluster with a RADOS Gateway (S3 API) on 127.0.0.1, for running the s3Storage tests
# against a real, signature-checking, atomically-overwriting S3 server. Everything lives in one temp directory:
# one monitor, one OSD keeping its data in memory (memstore), one radosgw, one S3 user. Nothing is installed or
# configured outside that directory, and `stop` removes it.
#
#   scripts/ceph-rgw.sh install     apt-get install the Debian packages (radosgw ceph-mon ceph-osd ceph-common), ~4 min
#   scripts/ceph-rgw.sh start       start it (~16 s); prints `export S3_…=…` lines, also written to <dir>/env
#   scripts/ceph-rgw.sh stop [DIR]  stop the daemons and remove the directory (default: the last one started)
#
# Example:
#   scripts/ceph-rgw.sh start > /tmp/ceph.env && . /tmp/ceph.env && npx vitest run test/conformance/s3.test.ts
#   scripts/ceph-rgw.sh stop
#
# Two settings are not optional (both found the hard way on Ceph 16): the monitor map must carry a msgr2 (v2)
# address — with a plain v1 `monmaptool --add` the client hangs in `ceph -s` — and the client modes must allow
# `crc`, or radosgw fails to authenticate with `get_initial_auth_request returned -13`.
set -euo pipefail

LAST=/tmp/pp-ceph-rgw.last
PACKAGES=(radosgw ceph-mon ceph-osd ceph-common)

log() { echo "ceph-rgw: $*" >&2; }

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

install() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null; then
    log "packages already installed"
    return
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
}

start() {
  for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool ceph; do
    command -v "$tool" >/dev/null || { log "$tool is missing: run '$0 install' first"; exit 1; }
  done
  local dir mon_port rgw_port fsid osd_uuid osd_key access secret
  dir=$(mktemp -d /tmp/pp-ceph-rgw.XXXXXX)
  echo "$dir" > "$LAST"
  # A failed start leaves nothing running: show the daemons' last words, then stop them and remove the directory.
  trap 'log "start failed"; tail -n 5 "$dir"/log/* >&2 2>/dev/null || true; stop "$dir"' ERR
  mon_port=$(free_port)
  rgw_port=$(free_port)
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mkdir -p "$dir"/{run,log,mon/ceph-a,osd/ceph-0,rgw}

  cat > "$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon initial members = a
mon host = [v2:127.0.0.1:$mon_port]
public addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
ms client mode = crc secure
ms mon client mode = crc secure
keyring = $dir/keyring
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
auth allow insecure global id reclaim = false

[client.rgw.a]
keyring = $dir/rgw/keyring
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
EOF
  local conf=(-c "$dir/ceph.conf")

  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$dir/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  # Daemons print a few lines to stderr before they detach: into the log directory with the rest.
  ceph-mon "${conf[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" 2>>"$dir/log/stderr"
  ceph-mon "${conf[@]}" -i a 2>>"$dir/log/stderr"

  # The OSD's key is registered with `osd new` before its mkfs, which already authenticates with the monitor.
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_key=$(ceph-authtool --gen-print-key)
  ceph-authtool --create-keyring "$dir/osd/ceph-0/keyring" --name osd.0 --add-key "$osd_key" >/dev/null
  echo "{\"cephx_secret\": \"$osd_key\"}" | ceph "${conf[@]}" --connect-timeout 30 osd new "$osd_uuid" -i - >/dev/null
  ceph-osd "${conf[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" --keyring "$dir/osd/ceph-0/keyring" 2>>"$dir/log/stderr"
  ceph-osd "${conf[@]}" -i 0 --keyring "$dir/osd/ceph-0/keyring" 2>>"$dir/log/stderr"

  ceph "${conf[@]}" auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$dir/rgw/keyring" >/dev/null 2>&1
  radosgw "${conf[@]}" -n client.rgw.a 2>>"$dir/log/stderr"

  access=$(random_hex 10)
  secret=$(random_hex 20)
  # radosgw-admin waits for the OSD to be up (it creates the RGW pools on first use).
  radosgw-admin "${conf[@]}" user create --uid=profile-picture --display-name=profile-picture \
    --access-key="$access" --secret-key="$secret" >/dev/null

  local endpoint="http://127.0.0.1:$rgw_port"
  for _ in $(seq 1 120); do
    if curl -s -o /dev/null "$endpoint/"; then break; fi
    sleep 0.5
  done
  curl -s -o /dev/null "$endpoint/" || { log "radosgw did not answer on $endpoint"; false; }
  trap - ERR

  cat > "$dir/env" <<EOF
export S3_ENDPOINT=$endpoint
export S3_ACCESS_KEY_ID=$access
export S3_SECRET_ACCESS_KEY=$secret
export S3_REGION=us-east-1
export CEPH_RGW_DIR=$dir
EOF
  cat "$dir/env"
  log "started in $dir (S3 endpoint $endpoint)"
}

stop() {
  local dir=${1:-$(cat "$LAST" 2>/dev/null || true)}
  [[ -n "$dir" && -d "$dir" && -f "$dir/ceph.conf" ]] || { log "nothing to stop"; return; }
  local pidfile pid
  for pidfile in "$dir"/run/*.pid; do
    [[ -f "$pidfile" ]] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
  done
  for pidfile in "$dir"/run/*.pid; do
    [[ -f "$pidfile" ]] || continue
    pid=$(cat "$pidfile")
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
  [[ "$(cat "$LAST" 2>/dev/null || true)" == "$dir" ]] && rm -f "$LAST"
  log "stopped and removed $dir"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 install | start | stop [DIR]" >&2; exit 2 ;;
esac
