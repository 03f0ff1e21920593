#!/usr/bin/env bash
# Synapse, the reference Matrix homeserver, for `npm start` and the Matrix tests (docs/matrix.md).
#   scripts/synapse.sh install            pip-installs it into .tools/synapse (PyPI, ~25 s once)
#   scripts/synapse.sh config DIR PORT [APPSERVICE_URL]
#                                         writes DIR/homeserver.yaml (SQLite, loopback client
#                                         listener on PORT, no federation) and DIR/matrix.env
#   scripts/synapse.sh start DIR          installs if needed, starts it in the background, waits
#                                         until it answers; its pid in DIR/synapse.pid
#   scripts/synapse.sh stop DIR           stops the one started in DIR
#   scripts/synapse.sh run DIR            runs it in the foreground (npm start)
# DIR/matrix.env holds what the platform needs: MATRIX_HOMESERVER_URL, MATRIX_SERVER_NAME,
# MATRIX_REGISTRATION_TOKEN, MATRIX_ADMIN_SECRET (the registration shared secret) and, with an
# appservice URL, MATRIX_APPSERVICE_HS_TOKEN / _AS_TOKEN. Generated secrets stay in DIR (0600).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=1.163.2
venv="$root/.tools/synapse"
py="$venv/bin/python"

install() {
  if [ -x "$py" ] && [ "$(cat "$venv/version" 2>/dev/null)" = "$version" ]; then return; fi
  # Test files run in parallel and each may ask: one installs, the others wait for it.
  mkdir -p "$root/.tools"
  exec 9>"$root/.tools/synapse.lock"
  flock 9
  if [ -x "$py" ] && [ "$(cat "$venv/version" 2>/dev/null)" = "$version" ]; then flock -u 9; return; fi
  # Debian's python3 makes venvs only with python3-venv (ensurepip): installed when root can.
  if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -q >/dev/null && apt-get install -y -q python3 python3-venv >/dev/null
    fi
  fi
  command -v python3 >/dev/null || { echo "synapse: python3 is not installed" >&2; exit 1; }
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "matrix-synapse==$version" >&2
  echo "$version" >"$venv/version"
  flock -u 9
}

secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }

config() {
  local dir=$1 port=$2 as_url=${3:-}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local env="$dir/matrix.env"
  # Secrets are made once per DIR: a restart keeps its users' tokens valid.
  if [ ! -f "$env" ]; then
    umask 077
    {
      echo "MATRIX_SERVER_NAME=localhost"
      echo "MATRIX_REGISTRATION_TOKEN=$(secret)"
      echo "MATRIX_ADMIN_SECRET=$(secret)"
      echo "MATRIX_APPSERVICE_HS_TOKEN=$(secret)"
      echo "MATRIX_APPSERVICE_AS_TOKEN=$(secret)"
      echo "MACAROON=$(secret)"
      echo "FORM=$(secret)"
    } >"$env"
  fi
  # shellcheck disable=SC1090
  . "$env"
  sed -i '/^MATRIX_HOMESERVER_URL=/d;/^MATRIX_APPSERVICE_URL=/d' "$env"
  echo "MATRIX_HOMESERVER_URL=http://127.0.0.1:$port" >>"$env"
  local appservices="[]"
  if [ -n "$as_url" ]; then
    echo "MATRIX_APPSERVICE_URL=$as_url" >>"$env"
    # Non-exclusive: the platform still registers @x_ai itself with a registration token (what a
    # Conduit-family server accepts too); the appservice only hears of their rooms, to wake them.
    cat >"$dir/appservice.yaml" <<EOF
id: matrixos-wake
url: "$as_url"
as_token: "$MATRIX_APPSERVICE_AS_TOKEN"
hs_token: "$MATRIX_APPSERVICE_HS_TOKEN"
sender_localpart: matrixos-wake
rate_limited: false
namespaces:
  users:
    - exclusive: false
      regex: "@[a-z][a-z0-9-]*_ai:$MATRIX_SERVER_NAME"
EOF
    appservices="[\"$dir/appservice.yaml\"]"
  fi
  cat >"$dir/homeserver.yaml" <<EOF
server_name: "$MATRIX_SERVER_NAME"
pid_file: "$dir/homeserver.pid"
# One client listener on loopback, no federation resource: the platform fronts it.
listeners:
  - port: $port
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: true
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "$dir/homeserver.db"
log_config: "$dir/log.config"
media_store_path: "$dir/media"
signing_key_path: "$dir/signing.key"
report_stats: false
# Tests lower it (SYNAPSE_BCRYPT_ROUNDS=4): each registration otherwise costs a second of CPU.
bcrypt_rounds: ${SYNAPSE_BCRYPT_ROUNDS:-12}
registration_shared_secret: "$MATRIX_ADMIN_SECRET"
macaroon_secret_key: "$MACAROON"
form_secret: "$FORM"
enable_registration: true
registration_requires_token: true
federation_domain_whitelist: []
trusted_key_servers: []
suppress_key_server_warning: true
presence:
  enabled: false
url_preview_enabled: false
app_service_config_files: $appservices
# Tests and npm start create a handful of users and rooms quickly.
rc_registration: {per_second: 100, burst_count: 1000}
rc_login:
  address: {per_second: 100, burst_count: 1000}
  account: {per_second: 100, burst_count: 1000}
  failed_attempts: {per_second: 100, burst_count: 1000}
rc_message: {per_second: 100, burst_count: 1000}
rc_joins:
  local: {per_second: 100, burst_count: 1000}
rc_invites:
  per_room: {per_second: 100, burst_count: 1000}
  per_user: {per_second: 100, burst_count: 1000}
EOF
  cat >"$dir/log.config" <<EOF
version: 1
formatters:
  precise: {format: '%(asctime)s - %(name)s - %(levelname)s - %(message)s'}
handlers:
  file: {class: logging.FileHandler, filename: "$dir/homeserver.log", formatter: precise}
root: {level: WARNING, handlers: [file]}
disable_existing_loggers: false
EOF
  [ -f "$dir/signing.key" ] || "$py" -m synapse.app.homeserver -c "$dir/homeserver.yaml" --generate-keys >/dev/null
}

wait_ready() {
  local dir=$1 url
  url=$(sed -n 's/^MATRIX_HOMESERVER_URL=//p' "$dir/matrix.env")
  for _ in $(seq 1 300); do
    if curl -fsS "$url/_matrix/client/versions" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$(cat "$dir/synapse.pid")" 2>/dev/null; then
      echo "synapse exited; see $dir/homeserver.log and $dir/stderr.log" >&2
      tail -20 "$dir/stderr.log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  echo "synapse did not answer within 30 s" >&2
  return 1
}

# The registration token the platform registers users with (m.login.registration_token) is made
# once through Synapse's admin API by an admin user that only this script uses. Conduit-family
# servers take theirs from their config instead; the platform does not care which.
bootstrap() {
  local dir=$1
  "$py" - "$dir/matrix.env" <<'PY'
import hashlib, hmac, json, sys, urllib.request, urllib.error
env = dict(l.rstrip('\n').split('=', 1) for l in open(sys.argv[1]) if '=' in l)
base = env['MATRIX_HOMESERVER_URL']
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header('content-type', 'application/json')
    if token: req.add_header('authorization', 'Bearer ' + token)
    try:
        with urllib.request.urlopen(req) as r: return r.status, json.load(r)
    except urllib.error.HTTPError as e: return e.code, json.load(e)
secret = env['MATRIX_ADMIN_SECRET'].encode()
password = hmac.new(secret, b'matrixos-admin password', hashlib.sha256).hexdigest()
status, body = call('POST', '/_matrix/client/v3/login', {'type': 'm.login.password', 'identifier': {'type': 'm.id.user', 'user': 'matrixos-admin'}, 'password': password})
if status != 200:
    _, n = call('GET', '/_synapse/admin/v1/register')
    mac = hmac.new(secret, digestmod=hashlib.sha1)
    mac.update('\x00'.join((n['nonce'], 'matrixos-admin', password, 'admin')).encode())
    status, body = call('POST', '/_synapse/admin/v1/register', {'nonce': n['nonce'], 'username': 'matrixos-admin', 'password': password, 'admin': True, 'mac': mac.hexdigest()})
    if status != 200: sys.exit(f'synapse: cannot make the admin user: {status} {body}')
token = body['access_token']
status, body = call('GET', '/_synapse/admin/v1/registration_tokens/' + env['MATRIX_REGISTRATION_TOKEN'], token=token)
if status == 404:
    status, body = call('POST', '/_synapse/admin/v1/registration_tokens/new', {'token': env['MATRIX_REGISTRATION_TOKEN']}, token=token)
if status != 200: sys.exit(f'synapse: cannot make the registration token: {status} {body}')
PY
}

case "${1:-}" in
  install) install; echo "$py" ;;
  bootstrap) bootstrap "$2" ;;
  config)
    [ -n "${3:-}" ] || { echo "usage: $0 config DIR PORT [APPSERVICE_URL]" >&2; exit 2; }
    install
    config "$2" "$3" "${4:-}"
    ;;
  start)
    [ -n "${2:-}" ] || { echo "usage: $0 start DIR" >&2; exit 2; }
    install
    dir=$(cd "$2" && pwd)
    "$py" -m synapse.app.homeserver -c "$dir/homeserver.yaml" >"$dir/stderr.log" 2>&1 &
    echo $! >"$dir/synapse.pid"
    wait_ready "$dir"
    bootstrap "$dir"
    ;;
  run)
    # Foreground for npm start: started, bootstrapped, then waited on (SIGTERM stops it).
    [ -n "${2:-}" ] || { echo "usage: $0 run DIR" >&2; exit 2; }
    install
    dir=$(cd "$2" && pwd)
    "$py" -m synapse.app.homeserver -c "$dir/homeserver.yaml" >"$dir/stderr.log" 2>&1 &
    pid=$!
    echo $pid >"$dir/synapse.pid"
    trap 'kill $pid 2>/dev/null; wait $pid; exit 0' TERM INT
    wait_ready "$dir"
    bootstrap "$dir"
    echo ready >"$dir/ready"
    wait $pid
    ;;
  stop)
    [ -n "${2:-}" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    pidfile="$2/synapse.pid"
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$pidfile"
    fi
    ;;
  *) echo "usage: $0 install | config DIR PORT [APPSERVICE_URL] | start DIR | run DIR | stop DIR" >&2; exit 2 ;;
esac
