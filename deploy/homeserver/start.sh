#!/bin/sh
# First start: a config for SYNAPSE_SERVER_NAME with SQLite, one client listener, no federation
# (the measured setup in /work/shared/ENVIRONMENT.md); later starts reuse it from /data.
set -eu
cfg=/data/homeserver.yaml
if [ ! -f "$cfg" ]; then
  /opt/synapse/bin/python -m synapse.app.homeserver --server-name "$SYNAPSE_SERVER_NAME" \
    --config-path "$cfg" --data-directory /data --generate-config --report-stats=no
  cat >>"$cfg" <<YAML
listeners:
  - port: ${SYNAPSE_PORT:-8008}
    bind_addresses: ['127.0.0.1']
    type: http
    x_forwarded: true
    resources: [{names: [client], compress: false}]
federation_domain_whitelist: []
trusted_key_servers: []
YAML
fi
exec /opt/synapse/bin/python -m synapse.app.homeserver --config-path "$cfg"
