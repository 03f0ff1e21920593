#!/usr/bin/env bash
# Deploys the multi-tenant Matrix OS platform on a fresh Debian 12 or Ubuntu 24.04 server, from
# this checkout, as the compose stack deploy/compose/docker-compose.yml (edge, platform, proxy):
#   sudo scripts/deploy-platform.sh --domain example.com --cert-dir /etc/matrixos/certs
#   sudo scripts/deploy-platform.sh --domain example.com --dns cloudflare --email you@example.com
#   --domain D        instances at {handle}.D, the control plane at D (kept in the settings)
#   --tls MODE        wildcard (the default: one certificate for D and *.D, from --cert-dir or
#                     --dns) or internal (the edge's own CA, no ACME: tests, private networks);
#                     no per-name certificates (docs/deployment.md, "TLS")
#   --cert-dir DIR    wildcard: a directory with fullchain.pem and privkey.pem (a renewal that
#                     replaces them there is picked up by the edge within 5 minutes)
#   --dns PROVIDER    wildcard: lego obtains and renews the certificate through DNS-01 (compose
#                     profile certs); the provider's credentials go in the settings file
#   --email E         the ACME account's address (with --dns)
#   --anthropic-key K the Anthropic key the LLM proxy holds (or ANTHROPIC_API_KEY in the environment)
#   --ip A            the server's public address for the DNS check (default: the source
#                     address of its default route)
#   --skip-dns-check  print the DNS records but do not check them
#   --http-port N, --https-port N   the edge's ports (default 80, which only redirects, and 443)
# It installs Docker Engine, docker-compose, nginx and its lua module (for the edge image) and
# Node 24, builds the images here (no registry needed), writes /etc/matrixos/platform.env once
# (a fresh admin token and edge secret), starts the stack, waits for it through the edge, prints
# a one-time admin sign-up link, and says which DNS records to create. Run it again at any time: a run that finds everything in place changes
# nothing and says "unchanged"; after `git pull` it rebuilds what changed and restarts only that
# (instances keep running). Later runs may omit the flags: they are kept in the settings file.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

env_file=${MATRIXOS_ENV_FILE:-/etc/matrixos/platform.env}
project=${COMPOSE_PROJECT_NAME:-matrixos}
compose_file="$root/deploy/compose/docker-compose.yml"
domain='' email='' tls='' cert_dir='' dns='' key=${ANTHROPIC_API_KEY:-} ip='' dns_check=1 http_port='' https_port=''
while [ $# -gt 0 ]; do
  case "$1" in
    --domain) domain=${2:?--domain needs a value}; shift ;;
    --email) email=${2:?--email needs a value}; shift ;;
    --tls) tls=${2:?--tls needs wildcard or internal}; shift ;;
    --cert-dir) cert_dir=${2:?--cert-dir needs a directory}; shift ;;
    --dns) dns=${2:?--dns needs the DNS provider as lego names it, e.g. cloudflare}; shift ;;
    --anthropic-key) key=${2:?--anthropic-key needs a value}; shift ;;
    --ip) ip=${2:?--ip needs an address}; shift ;;
    --skip-dns-check) dns_check=0 ;;
    --http-port) http_port=${2:?--http-port needs a port}; shift ;;
    --https-port) https_port=${2:?--https-port needs a port}; shift ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deploy-platform: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf 'deploy-platform: %s\n' "$*"; }
die() { printf 'deploy-platform: error: %s\n' "$*" >&2; exit 1; }
changes=()
changed() { changes+=("$1"); say "$1"; }

[ "$(id -u)" = 0 ] || die "run as root: sudo $0 $*"
command -v apt-get >/dev/null || die "this script is for Debian 12 or Ubuntu 24.04 (no apt-get here)"
# shellcheck disable=SC1091
. /etc/os-release
case "${ID:-}:${VERSION_ID:-}" in
  debian:12 | ubuntu:24.04) ;;
  *) say "warning: tested on Debian 12 and Ubuntu 24.04, this is ${PRETTY_NAME:-unknown}" ;;
esac

# --- Settings: flags win, then the settings file, then defaults --------------------------------
setting() { [ -f "$env_file" ] && sed -n "s/^$1=//p" "$env_file" | tail -1 || true; }
domain=${domain:-$(setting PLATFORM_DOMAIN)}
tls_from_flag=$tls
tls=${tls:-$(setting TLS_MODE)}; tls=${tls:-wildcard}
email=${email:-$(setting ACME_EMAIL)}
http_port=${http_port:-$(setting HTTP_PORT)}; http_port=${http_port:-80}
https_port=${https_port:-$(setting HTTPS_PORT)}; https_port=${https_port:-443}
# WILDCARD_CERT_DIR: the name this setting had in front of Caddy.
cert_dir=${cert_dir:-$(setting CERT_DIR)}; cert_dir=${cert_dir:-$(setting WILDCARD_CERT_DIR)}
dns=${dns:-$(setting LEGO_DNS_PROVIDER)}
[ -n "$domain" ] || die "--domain is required on the first run (e.g. --domain example.com)"
[[ "$domain" =~ ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$ && "$domain" == *.* ]] || die "--domain must be a lower-case domain name such as example.com"
case "$tls" in
  internal) ;;
  wildcard)
    if [ -n "$dns" ]; then
      [[ "$dns" =~ ^[a-z0-9.-]+$ ]] || die "--dns takes the provider as lego names it (e.g. cloudflare, route53; https://go-acme.github.io/lego/dns/), not $dns"
      [ -n "$email" ] || die "--dns needs --email (the ACME account's address)"
      cert_dir=${cert_dir:-/etc/matrixos/certs}
      [ -d "$cert_dir" ] || { install -d -m 0700 "$cert_dir" && changed "made $cert_dir (lego writes the certificate there)"; }
      cert_dir=$(cd "$cert_dir" && pwd)
    else
      [ -n "$cert_dir" ] || die "--tls wildcard (the default) needs one certificate for $domain and *.$domain. Either
    --cert-dir DIR        a directory with fullchain.pem and privkey.pem (e.g. from certbot's DNS challenge), or
    --dns PROVIDER --email E   lego obtains and renews it through your DNS provider's API (its
                          credentials, e.g. CLOUDFLARE_DNS_API_TOKEN=..., go in $env_file), or
    --tls internal        the edge's own CA instead (tests and private networks: browsers warn).
  Why one wildcard certificate and no per-name ones: docs/deployment.md, \"TLS\"."
      [ -d "$cert_dir" ] || die "--cert-dir $cert_dir does not exist"
      cert_dir=$(cd "$cert_dir" && pwd)
      [ -s "$cert_dir/fullchain.pem" ] && [ -s "$cert_dir/privkey.pem" ] || die "$cert_dir needs fullchain.pem and privkey.pem (for $domain and *.$domain)"
      if command -v openssl >/dev/null; then
        for name in "$domain" "edge-check.$domain"; do
          openssl x509 -in "$cert_dir/fullchain.pem" -noout -checkhost "$name" 2>/dev/null | grep -q 'does match' ||
            die "$cert_dir/fullchain.pem is not valid for $name (it must name $domain and *.$domain)"
        done
      fi
    fi ;;
  on-demand)
    where="in $env_file"; [ -z "$tls_from_flag" ] || where="--tls"
    die "TLS_MODE=on-demand ($where) is gone: the native edge serves one wildcard certificate for $domain and *.$domain (docs/deployment.md, \"TLS\"). Run again with --tls wildcard and --cert-dir DIR or --dns PROVIDER --email E, or with --tls internal" ;;
  *) die "--tls must be wildcard or internal (got $tls)" ;;
esac
for p in "$http_port" "$https_port"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "ports must be TCP port numbers (got $p)"
done
public_url="https://$domain"; [ "$https_port" = 443 ] || public_url="$public_url:$https_port"

# --- Packages ----------------------------------------------------------------------------------
# nginx and its lua module: only for the edge image (scripts/make-edge-image.sh copies them in);
# the edge runs in the stack. npm: Debian's, only to fetch Node 24 from the npm registry.
packages=(docker.io docker-compose nginx-light libnginx-mod-http-lua openssl busybox-static file curl git ca-certificates iproute2 npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]} ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  changed "installed ${missing[*]}"
fi
# Debian starts its own nginx.service on :80 (and an earlier deploy's caddy.service held 80 and
# 443); the stack's edge takes those ports instead.
for unit in nginx caddy; do
  if systemctl is-enabled "$unit" >/dev/null 2>&1 || systemctl is-active "$unit" >/dev/null 2>&1; then
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
    changed "disabled the host's $unit.service (the edge runs in the stack)"
  fi
done
if ! systemctl is-active docker >/dev/null 2>&1; then
  systemctl enable --now docker >/dev/null 2>&1 || die "Docker Engine did not start (journalctl -u docker)"
  changed "started Docker Engine"
fi
for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
docker info >/dev/null 2>&1 || die "Docker Engine does not answer (journalctl -u docker)"
if command -v docker-compose >/dev/null; then dc_bin=(docker-compose); else dc_bin=(docker compose); fi

# Node 24 (for building the images) and the checkout's dependencies, into .tools/ and node_modules.
# npm 11 too: Debian's npm 9 ignores the lockfile's `allowScripts` (it would compile native addons
# that ship prebuilds) and cannot be copied into the local base image (make-base-image.sh).
npm_version=11.19.1 node_version=24.21.0
node_dir="$root/.tools/node-$node_version" npm_dir="$root/.tools/npm-$npm_version"
if [ ! -x "$node_dir/node_modules/node/bin/node" ] || [ ! -x "$npm_dir/node_modules/.bin/npm" ]; then
  say "installing Node $node_version and npm $npm_version (from the npm registry) ..."
  npm install --prefix "$node_dir" --no-save --no-package-lock --loglevel=error "node@$node_version" >/dev/null
  npm install --prefix "$npm_dir" --no-save --no-package-lock --loglevel=error "npm@$npm_version" >/dev/null
  changed "installed Node $node_version and npm $npm_version"
fi
export PATH="$node_dir/node_modules/node/bin:$npm_dir/node_modules/.bin:$PATH"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing the dependencies (npm ci) ..."
  bash scripts/node24.sh node --version >/dev/null
  changed "installed the dependencies"
fi

# --- Settings file -----------------------------------------------------------------------------
set_setting() { # KEY VALUE: writes it when it differs, reporting the change (never a secret's value)
  local k=$1 v=$2 old
  old=$(setting "$k")
  [ "$old" = "$v" ] && grep -q "^$k=" "$env_file" && return 0
  if grep -q "^$k=" "$env_file"; then
    local tmp; tmp=$(mktemp "$env_file.XXXX")
    awk -v k="$k" -v v="$v" 'BEGIN{FS=OFS="="} $1==k{print k "=" v; next} {print}' "$env_file" >"$tmp"
    chmod 600 "$tmp" && mv "$tmp" "$env_file"
  else
    printf '%s=%s\n' "$k" "$v" >>"$env_file"
  fi
  case "$k" in *TOKEN* | *KEY* | *SECRET*) changed "settings: $k set" ;; *) changed "settings: $k=$v" ;; esac
}
if [ ! -f "$env_file" ]; then
  install -d -m 0700 "$(dirname "$env_file")"
  (umask 077 && {
    echo "# Matrix OS platform settings, written by scripts/deploy-platform.sh; every setting: docs/configuration.md."
    echo "# The stack: deploy/compose/docker-compose.yml. Edit, then run the deploy script again."
    echo "PLATFORM_ADMIN_TOKEN=$(head -c 32 /dev/urandom | base64 | tr -d '=+/\n')"
    echo "ANTHROPIC_API_KEY="
  } >"$env_file")
  changed "wrote $env_file"
fi
set_setting PLATFORM_DOMAIN "$domain"
set_setting PUBLIC_URL "$public_url"
set_setting TLS_MODE "$tls"
set_setting ACME_EMAIL "$email"
set_setting HTTP_PORT "$http_port"
set_setting HTTPS_PORT "$https_port"
# The edge's route API secret, shared by the edge and the platform: made once, then kept.
[ -n "$(setting EDGE_SECRET)" ] || set_setting EDGE_SECRET "$(head -c 24 /dev/urandom | base64 | tr -d '=+/\n')"
if [ "$tls" = wildcard ]; then
  set_setting CERT_DIR "$cert_dir"
  [ -z "$dns" ] || set_setting LEGO_DNS_PROVIDER "$dns"
fi
[ -z "$key" ] || set_setting ANTHROPIC_API_KEY "$key"
[ -n "$(setting ANTHROPIC_API_KEY)" ] || say "note: no Anthropic key yet: the AI answers that one is needed (set ANTHROPIC_API_KEY in $env_file, or pass --anthropic-key, and run again)"

# --- Images (built here from this checkout; unchanged inputs are not rebuilt) ---------------------
out=$(bash scripts/build-image.sh --if-stale 2>&1) || { echo "$out" >&2; die "building the instance image failed"; }
grep -q 'is up to date' <<<"$out" || changed "built the instance image ($(tail -1 <<<"$out" | sed 's/^build-image: //'))"
out=$(bash scripts/build-platform-images.sh --if-stale 2>&1) || { echo "$out" >&2; die "building the platform images failed"; }
while read -r line; do
  case "$line" in
    *unchanged*) ;;
    build-platform-images:* | make-edge-image:*) changed "built ${line#*: }" ;;
  esac
done <<<"$out"

# --- The stack -----------------------------------------------------------------------------------
# With --dns, the `certs` profile adds lego, which writes the certificate into CERT_DIR.
profile=(); [ "$tls" = wildcard ] && [ -n "$dns" ] && profile=(--profile certs)
dc() { MATRIXOS_ENV_FILE="$env_file" "${dc_bin[@]}" --env-file "$env_file" -p "$project" -f "$compose_file" "${profile[@]}" "$@"; }
containers() { docker ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Label "com.docker.compose.service"}} {{.ID}} {{.State}}' | sort; }
before=$(containers)
if [ "${#profile[@]}" -gt 0 ] && [ ! -s "$cert_dir/fullchain.pem" ]; then
  # The edge needs the certificate to start: lego first (the DNS-01 challenge takes a minute or two).
  say "obtaining the certificate for $domain and *.$domain through DNS-01 ($dns) ..."
  dc up -d lego >/dev/null 2>&1 || { dc up -d lego 2>&1 | tail -20 >&2; die "docker-compose up lego failed"; }
  for _ in $(seq 1 120); do [ -s "$cert_dir/fullchain.pem" ] && break; sleep 5; done
  [ -s "$cert_dir/fullchain.pem" ] || { dc logs --tail 40 lego >&2; die "lego got no certificate within 10 minutes (its log is above; the provider's credentials belong in $env_file)"; }
  changed "obtained the wildcard certificate (lego, $dns)"
fi
dc up -d --remove-orphans >/dev/null 2>&1 || { dc up -d 2>&1 | tail -20 >&2; die "docker-compose up failed"; }
after=$(containers)
if [ "$before" != "$after" ]; then
  started=$(comm -13 <(echo "$before") <(echo "$after") | awk '{print $1}' | sort -u | tr '\n' ' ')
  changed "started ${started:-the stack}"
fi

say "waiting for the platform ..."
platform_port=$(setting PLATFORM_PORT); platform_port=${platform_port:-9000}
for _ in $(seq 1 120); do
  curl -fsS --max-time 2 "http://127.0.0.1:$platform_port/health/ready" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS --max-time 2 "http://127.0.0.1:$platform_port/health/ready" >/dev/null 2>&1 ||
  { dc logs --tail 30 platform >&2; die "the platform did not become ready within 120 s"; }
# Through the edge, as a browser would come (the name resolved to this machine).
edge=000
for _ in $(seq 1 30); do
  edge=$(curl -sk --max-time 5 --resolve "$domain:$https_port:127.0.0.1" -o /dev/null -w '%{http_code}' "https://$domain:$https_port/health/ready" || true)
  [ "$edge" = 200 ] && break
  sleep 2
done
if [ "$edge" = 200 ]; then say "ready: $public_url answers through the edge"
else dc logs --tail 30 edge >&2; die "the edge does not answer https://$domain:$https_port (HTTP $edge)"; fi
[ "$tls" != internal ] || say "TLS from the edge's own CA: browsers trust it once given its certificate ($(printf '%s ' "${dc_bin[@]}")-p $project -f $compose_file exec -T edge cat /var/lib/matrixos-edge/tls/ca.crt)"

# --- The first admin -------------------------------------------------------------------------------
invite=$(dc exec -T platform matrixos admin-invite --if-none 2>&1 | tail -1)
case "$invite" in
  *'"link"'*)
    link=$(sed 's/.*"link":"\([^"]*\)".*/\1/' <<<"$invite")
    until=$(sed 's/.*"expiresAt":"\([^"]*\)".*/\1/' <<<"$invite")
    changed "issued a one-time admin invite"
    printf '\n  Create the admin account (the link works once, until %s):\n    %s\n\n' "$until" "$link" ;;
  *'"skipped"'*) say "admin: $(sed 's/.*"skipped":"\([^"]*\)".*/\1/' <<<"$invite") (a new link: docker-compose -p $project -f $compose_file exec platform matrixos admin-invite)" ;;
  *) die "could not issue an admin invite: $invite" ;;
esac

# --- DNS -------------------------------------------------------------------------------------------
[ -n "$ip" ] || ip=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}' | head -1)
printf '  DNS records to create (at your DNS provider):\n    %-22s A  %s\n    %-22s A  %s\n' "$domain" "${ip:-<this server>}" "*.$domain" "${ip:-<this server>}"
if [ "$dns_check" = 1 ]; then
  probe="dns-check-$RANDOM.$domain" dns_ok=1
  for name in "$domain" "$probe"; do
    got=$(getent ahostsv4 "$name" 2>/dev/null | awk '{print $1}' | sort -u | tr '\n' ' ')
    if [ -n "$ip" ] && grep -qw -- "$ip" <<<"$got"; then say "DNS ok: $name -> $ip"
    else dns_ok=0; say "DNS NOT READY: $name resolves to '${got% }' (want $ip)$([ "$name" = "$probe" ] && echo ': the wildcard record is missing')"; fi
  done
  [ "$dns_ok" = 1 ] || say "warning: until DNS is right, browsers cannot reach $public_url"
else
  say "DNS check skipped (--skip-dns-check)"
fi

if [ "${#changes[@]}" = 0 ]; then
  say "unchanged: everything was already in place"
else
  say "done: ${#changes[@]} change(s). Upgrade later with: git pull && sudo $0"
fi
