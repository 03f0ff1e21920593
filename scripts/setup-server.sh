#!/usr/bin/env bash
# Sets up a single-user Matrix OS on a Debian or Ubuntu server, from this checkout:
#   sudo scripts/setup-server.sh [--compose | --systemd] [--handle NAME] [--port N] [--bind ADDR] [--image REF]
#   --compose (default)  Docker Engine + compose: the instance image built here, one container.
#   --systemd            Node 24 and the bundled gateway under /opt/matrixos, run by systemd as
#                        the system user `matrixos`, home in /var/lib/matrixos/home.
#   --handle NAME        your handle (default: owner)
#   --port N, --bind A   where the gateway answers (default 127.0.0.1:4000, for a reverse proxy)
#   --image REF          (compose) run a published image instead of building one, e.g.
#                        ghcr.io/OWNER/REPO/instance:COMMIT_SHA; kept in .env as INSTANCE_IMAGE
# Safe to run again (e.g. after `git pull`): it installs only what is missing, keeps existing
# settings and data, rebuilds and restarts the instance, and prints the access token.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

variant=compose handle=owner port=4000 bind=127.0.0.1 image=
while [ $# -gt 0 ]; do
  case "$1" in
    --compose) variant=compose ;;
    --systemd) variant=systemd ;;
    --handle) handle=${2:?--handle needs a value}; shift ;;
    --port) port=${2:?--port needs a value}; shift ;;
    --bind) bind=${2:?--bind needs a value}; shift ;;
    --image) image=${2:?--image needs an image reference}; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-server: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

[ -z "$image" ] || [ "$variant" = compose ] || die "--image is for --compose (systemd runs the bundled gateway, no image)"
[ "$(id -u)" = 0 ] || die "run as root: sudo $0 $*"
command -v apt-get >/dev/null || die "this script is for Debian or Ubuntu (no apt-get here)"
[[ "$handle" =~ ^[a-z][a-z0-9-]{1,28}[a-z0-9]$ ]] || die "--handle must be 3-30 lower-case letters, digits or hyphens, starting with a letter"
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "--port must be a TCP port number"

apt_updated=0
# need COMMAND PACKAGE...: installs the packages when the command is missing.
need() {
  local cmd=$1
  shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

probe_host() { if [ "$bind" = 0.0.0.0 ] || [ "$bind" = :: ]; then echo 127.0.0.1; else echo "$bind"; fi; }

wait_healthy() {
  local url="http://$(probe_host):$1/health"
  for _ in $(seq 1 60); do
    if curl -fsS --max-time 2 "$url" >/dev/null 2>&1; then log "healthy: $url"; return 0; fi
    sleep 1
  done
  die "the instance did not answer $url within 60 s (see the logs)"
}

print_token() {
  local configured=$1 stored=$2
  echo
  if [ -n "$configured" ]; then
    log "access token: the MATRIX_AUTH_TOKEN you configured"
  elif [ -n "$stored" ]; then
    log "access token (keep it secret; it opens your instance's API):"
    echo
    echo "    $stored"
  fi
  echo
  log "try it: curl -H \"Authorization: Bearer <token>\" http://$(probe_host):$3/api/system/info"
}

# The value of NAME in an env file, or nothing.
env_value() { sed -n "s/^$1=//p" "$2" | tail -n 1; }

need curl curl
need flock util-linux
# Node 24 comes from the npm registry (scripts/node24.sh); Debian's npm only bootstraps it.
need npm npm

setup_compose() {
  need docker docker.io
  if ! docker compose version >/dev/null 2>&1; then need docker-compose docker-compose; fi
  compose() { if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi; }
  if ! docker info >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
      systemctl enable --now docker >/dev/null
    else
      log "starting dockerd (no systemd here)"
      (dockerd >/var/log/dockerd.log 2>&1 &)
    fi
    for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || die "the Docker engine does not answer"
  fi

  cd "$root"
  if [ ! -f .env ]; then
    log "writing .env (handle $handle, $bind:$port)"
    install -m 600 .env.example .env
    sed -i -e "s/^MATRIX_HANDLE=.*/MATRIX_HANDLE=$handle/" -e "s/^MATRIXOS_BIND=.*/MATRIXOS_BIND=$bind/" \
      -e "s/^MATRIXOS_PORT=.*/MATRIXOS_PORT=$port/" .env
  else
    log "keeping the existing .env"
  fi
  if [ -n "$image" ]; then
    # A published image (CI's, for this machine's architecture), pinned in .env from now on.
    if grep -q '^INSTANCE_IMAGE=' .env; then sed -i "s|^INSTANCE_IMAGE=.*|INSTANCE_IMAGE=$image|" .env
    else printf 'INSTANCE_IMAGE=%s\n' "$image" >>.env; fi
  fi
  local pinned
  pinned=$(env_value INSTANCE_IMAGE .env)
  # An image from a registry (its name starts with a host: ghcr.io/...) is pulled; others are built.
  if [[ "$pinned" == *.*/* ]]; then docker pull "$pinned"
  else INSTANCE_IMAGE=${pinned:-matrixos/instance:latest} bash scripts/build-image.sh --if-stale; fi
  compose up -d --no-build
  local id env_port
  id=$(compose ps -q matrixos)
  bind=$(env_value MATRIXOS_BIND .env)
  bind=${bind:-127.0.0.1}
  env_port=$(env_value MATRIXOS_PORT .env)
  wait_healthy "${env_port:-4000}"
  print_token "$(env_value MATRIX_AUTH_TOKEN .env)" \
    "$(docker exec "$id" cat /home/matrixos/home/.matrixos/auth-token 2>/dev/null || true)" "${env_port:-4000}"
  log "in $root: logs: docker compose logs -f    stop: docker compose down (keeps your data)"
}

setup_systemd() {
  [ -d /run/systemd/system ] || die "systemd is not running here; use --compose"
  local node_version npm_version
  node_version=$(sed -n 's/^NODE_VERSION=//p' "$root/scripts/node24.sh")
  npm_version=11.19.1

  if ! id matrixos >/dev/null 2>&1; then
    log "creating the system user matrixos"
    useradd --system --user-group --home-dir /var/lib/matrixos --shell /usr/sbin/nologin matrixos
  fi

  if [ "$(/opt/matrixos/bin/node --version 2>/dev/null || true)" != "v$node_version" ]; then
    log "installing Node $node_version into /opt/matrixos/node"
    npm install --prefix /opt/matrixos/node --no-save --no-package-lock --loglevel=error \
      "node@$node_version" "npm@$npm_version"
    mkdir -p /opt/matrixos/bin
    ln -sfn /opt/matrixos/node/node_modules/node/bin/node /opt/matrixos/bin/node
  fi

  log "bundling the gateway into /opt/matrixos/gateway"
  PATH="/opt/matrixos/node/node_modules/.bin:$PATH" bash "$root/scripts/node24.sh" \
    node scripts/bundle-gateway.ts /opt/matrixos/gateway.new
  rm -rf /opt/matrixos/gateway.old
  [ ! -d /opt/matrixos/gateway ] || mv /opt/matrixos/gateway /opt/matrixos/gateway.old
  mv /opt/matrixos/gateway.new /opt/matrixos/gateway
  rm -rf /opt/matrixos/gateway.old

  install -d -m 755 /etc/matrixos
  if [ ! -f /etc/matrixos/env ]; then
    log "writing /etc/matrixos/env (handle $handle, $bind:$port)"
    install -m 640 -g matrixos /dev/null /etc/matrixos/env
    printf '%s\n' "# Matrix OS settings (see docs/deployment.md). Restart after editing: systemctl restart matrixos" \
      "MATRIX_HANDLE=$handle" "MATRIX_AUTH_TOKEN=" "HOST=$bind" "PORT=$port" "MAX_FILE_BYTES=10m" "LOG_LEVEL=info" \
      >/etc/matrixos/env
  else
    log "keeping the existing /etc/matrixos/env"
  fi

  install -m 644 "$root/deploy/systemd/matrixos.service" /etc/systemd/system/matrixos.service
  systemctl daemon-reload
  systemctl enable matrixos >/dev/null 2>&1
  systemctl restart matrixos
  local home env_port
  home=$(env_value MATRIXOS_HOME /etc/matrixos/env)
  home=${home:-/var/lib/matrixos/home}
  env_port=$(env_value PORT /etc/matrixos/env)
  bind=$(env_value HOST /etc/matrixos/env)
  bind=${bind:-127.0.0.1}
  wait_healthy "${env_port:-4000}"
  print_token "$(env_value MATRIX_AUTH_TOKEN /etc/matrixos/env)" "$(cat "$home/.matrixos/auth-token" 2>/dev/null || true)" \
    "${env_port:-4000}"
  log "logs: journalctl -u matrixos -f    stop: systemctl stop matrixos"
}

"setup_$variant"
