#!/usr/bin/env bash
# The full stack (deploy/compose/docker-compose.yml) for real, with Debian's docker-compose 1.29:
# builds the images offline, brings the stack up under a project name, ports, platform id and
# network of its own, signs a user up through the edge (Caddy's internal CA, verified; curl
# --resolve; the TOTP path), waits for their instance and reaches it over TLS through the
# one-time bridge, then takes the stack down and removes only what it created.
# Needs the Docker engine; installs docker-compose when missing. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
say() { printf '[compose] %s\n' "$*"; }
fail() { printf '[compose] FAIL: %s\n' "$*" >&2; exit 1; }
started=$(date +%s)

docker info >/dev/null 2>&1 || fail "no Docker engine answers (start dockerd)"
if ! command -v docker-compose >/dev/null; then
  say "installing docker-compose (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi
command -v curl >/dev/null || fail "curl is missing"

# Its own instance tag, so that the shared engine's matrixos/instance:latest is never moved.
instance_image=${TEST_INSTANCE_IMAGE:-matrixos/instance:compose-test}
INSTANCE_IMAGE=$instance_image bash scripts/build-image.sh --if-stale | tail -1
bash scripts/build-platform-images.sh --if-stale | grep -v DEPRECATED | grep build-platform-images

free_port() { bash scripts/node24.sh node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
id=$$
project="mxcompose$id"
domain=mxops.test
https_port=$(free_port); http_port=$(free_port); platform_port=$(free_port); proxy_port=$(free_port); api_port=$(free_port)
work=$(mktemp -d)
env_file="$work/.env"
admin=$(head -c 24 /dev/urandom | base64 | tr -d '=+/')
cat >"$env_file" <<ENV
PLATFORM_DOMAIN=$domain
PUBLIC_URL=https://$domain:$https_port
PLATFORM_ADMIN_TOKEN=$admin
ANTHROPIC_API_KEY=sk-ant-not-used
TLS_MODE=internal
HTTP_PORT=$http_port
HTTPS_PORT=$https_port
PLATFORM_PORT=$platform_port
PROXY_PORT=$proxy_port
INSTANCE_API_PORT=$api_port
PLATFORM_ID=mxc$id
DOCKER_NETWORK=mxc$id-net
CADDY_IMAGE=matrixos/caddy:2.6-local
INSTANCE_IMAGE=$instance_image
ENV
dc() { MATRIXOS_ENV_FILE="$env_file" docker-compose --env-file "$env_file" -p "$project" -f deploy/compose/docker-compose.yml "$@"; }

cleanup() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    say "logs of the failed run:"; dc logs --no-color --tail 40 2>&1 | tail -120 || true
  fi
  dc down -v --remove-orphans >/dev/null 2>&1 || true
  # The instances the platform made (its own PLATFORM_ID), their volumes and network.
  docker ps -aq --filter "label=dev.matrixos.platform=mxc$id" | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker volume ls -q --filter "label=dev.matrixos.platform=mxc$id" | xargs -r docker volume rm >/dev/null 2>&1 || true
  docker network rm "mxc$id-net" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

say "up: project $project, https on $https_port"
dc up -d 2>&1 | grep -v '^Creating\|^$' || true
for _ in $(seq 1 90); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' "${project}_platform_1" 2>/dev/null)" = healthy ] && break
  sleep 2
done
[ "$(docker inspect -f '{{.State.Health.Status}}' "${project}_platform_1")" = healthy ] || fail "platform did not become healthy"
docker inspect -f '{{.State.Running}}' "${project}_edge_1" | grep -q true || fail "edge is not running"
up_at=$(date +%s)

# Caddy's root certificate: every request below verifies the edge's certificate against it.
ca="$work/root.crt"
for _ in $(seq 1 30); do
  docker cp "${project}_edge_1:/data/caddy/pki/authorities/local/root.crt" "$ca" >/dev/null 2>&1 && [ -s "$ca" ] && break
  # The internal CA is made at the first handshake.
  curl -sk --resolve "$domain:$https_port:127.0.0.1" "https://$domain:$https_port/health" >/dev/null 2>&1 || true
  sleep 1
done
[ -s "$ca" ] || fail "no internal CA root in the edge"
jar="$work/cookies"
edge() { # edge NAME PATH [curl args...]
  local name=$1 p=$2; shift 2
  curl -sS --cacert "$ca" --resolve "$name:$https_port:127.0.0.1" -b "$jar" -c "$jar" \
    -H "Origin: https://$domain:$https_port" "$@" "https://$name:$https_port$p"
}
json() { bash scripts/node24.sh node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=JSON.parse(s);console.log(eval('v.'+process.argv[1]))})" "$1"; }

ready=$(edge "$domain" /health/ready -o /dev/null -w '%{http_code}')
[ "$ready" = 200 ] || fail "GET /health/ready through the edge: $ready"
say "edge serves the control plane over verified TLS"

say "sign-up (TOTP) as alice"
start=$(edge "$domain" /auth/signup/totp/options -X POST -H 'content-type: application/json' -d '{"handle":"alice"}')
flow=$(json flowId <<<"$start"); secret=$(json secret <<<"$start")
code=$(bash scripts/node24.sh node -e "import('./packages/platform/src/accounts/totp.ts').then(m=>console.log(m.totpCodeAt(process.argv[1],Date.now())))" "$secret")
done_=$(edge "$domain" /auth/signup/totp/verify -X POST -H 'content-type: application/json' \
  -d "{\"flowId\":\"$flow\",\"code\":\"$code\"}" -w '\n%{http_code}')
[ "$(tail -1 <<<"$done_")" = 201 ] || fail "sign-up: $done_"

state=
for _ in $(seq 1 60); do
  state=$(edge "$domain" /me | json 'instance && v.instance.state' 2>/dev/null || true)
  [ "$state" = running ] && break
  sleep 1
done
[ "$state" = running ] || fail "alice's instance is not running (state: $state)"
docker ps --filter "label=dev.matrixos.platform=mxc$id" --format '{{.Names}} {{.Status}}' | grep -q . || fail "no instance container"
say "instance provisioned: $(docker ps --filter "label=dev.matrixos.platform=mxc$id" --format '{{.Names}} ({{.Image}})')"

open=$(edge "$domain" /me/instance/open -X POST)
url=$(json url <<<"$open")
case "$url" in "https://alice.$domain:$https_port/"*) ;; *) fail "open URL: $url" ;; esac
# The bridge hands the session to the instance's origin; the shell is then served over TLS.
status=$(curl -sS --cacert "$ca" --resolve "alice.$domain:$https_port:127.0.0.1" -b "$jar" -c "$jar" -L -o /dev/null -w '%{http_code}' "$url")
[ "$status" = 200 ] || fail "following the bridge to the instance: $status"
info=$(edge "alice.$domain" /api/system/info -w '\n%{http_code}')
[ "$(tail -1 <<<"$info")" = 200 ] || fail "instance API over TLS: $info"
grep -q '"alice"' <<<"$info" || fail "the instance did not say it is alice's: $info"
say "alice's instance answers over TLS at https://alice.$domain:$https_port"

# A name that is no instance gets no certificate (the ask route refuses it).
if curl -s --cacert "$ca" --resolve "bob.$domain:$https_port:127.0.0.1" -o /dev/null "https://bob.$domain:$https_port/" 2>/dev/null; then
  fail "the edge served a name that is no instance"
fi
say "PASS in $(($(date +%s) - started)) s (stack up in $((up_at - started)) s including builds)"
