#!/usr/bin/env bash
# The full stack (deploy/compose/docker-compose.yml) for real, with Debian's docker-compose 1.29:
# builds the images offline, brings the stack up under a project name, ports, platform id and
# network of its own, signs a user up through the native edge (TLS_MODE=internal: the edge's own
# CA, verified; curl --resolve; the TOTP path), waits for their instance and reaches it over TLS
# through the one-time bridge; then checks that the edge serves the running instance itself (its
# route API lists it, the platform's router counts none of those requests and holds none of the
# WebSocket opened to it), that plain HTTP redirects to https, and that a name that is no
# instance goes to the platform; then takes the stack down and removes only what it created.
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
bash scripts/build-platform-images.sh --if-stale | grep -E '^(build-platform-images|make-edge-image):'

free_port() { bash scripts/node24.sh node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
id=$$
project="mxcompose$id"
domain=mxops.test
https_port=$(free_port); http_port=$(free_port); platform_port=$(free_port); proxy_port=$(free_port); api_port=$(free_port)
edge_admin_port=$(free_port)
work=$(mktemp -d)
env_file="$work/.env"
admin=$(head -c 24 /dev/urandom | base64 | tr -d '=+/')
edge_secret=$(head -c 24 /dev/urandom | base64 | tr -d '=+/')
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
EDGE_ADMIN_PORT=$edge_admin_port
EDGE_SECRET=$edge_secret
PLATFORM_ID=mxc$id
DOCKER_NETWORK=mxc$id-net
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

# The edge's internal CA (made at its first start): every request below verifies against it.
ca="$work/ca.crt"
for _ in $(seq 1 30); do
  docker cp "${project}_edge_1:/var/lib/matrixos-edge/tls/ca.crt" "$ca" >/dev/null 2>&1 && [ -s "$ca" ] && break
  sleep 1
done
[ -s "$ca" ] || fail "no internal CA in the edge"
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

routes_of_edge() { curl -sS -H "Authorization: Bearer $edge_secret" "http://127.0.0.1:$edge_admin_port/routes" || true; }
wait_routed() { # until the edge's route API lists alice (the platform pushes it once she runs)
  local routes=
  for _ in $(seq 1 40); do
    routes=$(routes_of_edge)
    grep -q '"alice":' <<<"$routes" && return 0
    sleep 0.5
  done
  fail "the edge has no route for alice: $routes"
}
metric() { # metric NAME: the sum over its series in the platform's /metrics (admin token)
  curl -sS -H "Authorization: Bearer $admin" "http://127.0.0.1:$platform_port/metrics" |
    awk -v m="$1" '$1 == m || index($1, m "{") == 1 {s += $2} END {print s + 0}'
}

# An API client's way in first: the instance's own token (rotated here; the instance restarts with it).
rotated=$(edge "$domain" /me/instance/token -X POST -w '\n%{http_code}')
[ "$(tail -1 <<<"$rotated")" = 201 ] || fail "a new instance token: $rotated"
token=$(head -1 <<<"$rotated" | json token)
[ -n "$token" ] || fail "no token in $rotated"
code=
for _ in $(seq 1 40); do # until the restart with the new token has settled and the edge has its route
  code=$(edge "alice.$domain" /api/system/info -H "Authorization: Bearer $token" -o /dev/null -w '%{http_code}')
  [ "$code" = 200 ] && break
  sleep 0.5
done
[ "$code" = 200 ] || fail "instance API with its token over TLS: $code"
wait_routed
# Served by the edge itself: the platform's router counts none of these requests.
before=$(metric matrixos_router_requests_total)
for _ in 1 2 3 4 5; do
  code=$(edge "alice.$domain" /api/system/info -H "Authorization: Bearer $token" -o /dev/null -w '%{http_code}')
  [ "$code" = 200 ] || fail "instance API with its token over TLS: $code"
done
after=$(metric matrixos_router_requests_total)
[ "$before" = "$after" ] || fail "the platform's router answered requests for the running instance ($before -> $after): the edge did not route them itself ($(routes_of_edge))"
say "the edge serves the running instance directly (routes $(routes_of_edge); the router's count stayed at $after)"

# A WebSocket to the instance through the edge, with the token; while it is open, the router
# holds none of it.
ws_sockets=$(
  bash scripts/node24.sh node -e '
const fs = require("node:fs");
const WebSocket = require("ws");
const [ca, name, port, token, admin, platformPort] = process.argv.slice(1);
const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, {
  headers: { host: `${name}:${port}`, authorization: `Bearer ${token}` },
  origin: `https://${name}:${port}`,
  servername: name,
  ca: fs.readFileSync(ca),
});
const fail = (why) => { console.error(why); process.exit(1); };
setTimeout(() => fail("no WebSocket within 10 s"), 10_000).unref();
ws.once("unexpected-response", (_, res) => fail(`upgrade refused: ${res.statusCode}`));
ws.once("error", (err) => fail(err.message));
ws.once("open", async () => {
  const m = await (await fetch(`http://127.0.0.1:${platformPort}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
  console.log(/^matrixos_router_open_websockets (\S+)/m.exec(m)?.[1] ?? "missing");
  ws.close();
  process.exit(0);
});' "$ca" "alice.$domain" "$https_port" "$token" "$admin" "$platform_port"
) || fail "WebSocket to the instance through the edge"
[ "$ws_sockets" = 0 ] || fail "the router holds the instance's WebSocket (open through it: $ws_sockets)"
say "a WebSocket to alice's instance opens through the edge, straight to the instance"

# Plain HTTP only redirects; a name that is no instance goes to the platform (under the wildcard).
location=$(curl -sS --resolve "alice.$domain:$http_port:127.0.0.1" -o /dev/null -w '%{http_code} %{redirect_url}' "http://alice.$domain:$http_port/files?x=1")
[ "$location" = "301 https://alice.$domain:$https_port/files?x=1" ] || fail "plain HTTP: $location"
bob=$(edge "bob.$domain" /api/system/info -o /dev/null -w '%{http_code}')
[ "$bob" = 404 ] || fail "a name that is no instance: $bob (want the platform's 404)"
# The control for the count above: this one the router did answer.
[ "$(metric matrixos_router_requests_total)" -gt "$after" ] || fail "the router's request count did not move for bob.$domain: it counts nothing, so its staying put above proves nothing"
say "plain HTTP redirects to https; bob.$domain (no instance) gets the platform's 404, from the router"

# The browser's way in: the one-time bridge hands the session to the instance's origin (its pass
# cookie, which the instance checks itself, the edge sending it straight there).
open=$(edge "$domain" /me/instance/open -X POST)
url=$(json url <<<"$open")
case "$url" in "https://alice.$domain:$https_port/"*) ;; *) fail "open URL: $url" ;; esac
status=$(curl -sS --cacert "$ca" --resolve "alice.$domain:$https_port:127.0.0.1" -b "$jar" -c "$jar" -L -o /dev/null -w '%{http_code}' "$url")
[ "$status" = 200 ] || fail "following the bridge to the instance: $status"
info=$(edge "alice.$domain" /api/system/info -w '\n%{http_code}')
[ "$(tail -1 <<<"$info")" = 200 ] || fail "instance API over TLS after the bridge (the pass cookie): $info"
grep -q '"alice"' <<<"$info" || fail "the instance did not say it is alice's: $info"
say "alice's browser reaches her instance over TLS through the bridge at https://alice.$domain:$https_port"
say "PASS in $(($(date +%s) - started)) s (stack up in $((up_at - started)) s including builds)"
