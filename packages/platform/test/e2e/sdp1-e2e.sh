#!/usr/bin/env bash
# The end-to-end script of the seed's SDP-1 spec ("Verification"), adapted only in its URLs and
# token: CONTROL_URL and TOKEN (the admin token) for the control plane, and the instance token
# the provision returns for the instance's own routes (owner only here). INSTANCE_URL_TEMPLATE
# places the subdomain (default http://%s.localhost:9000). WAIT_SECONDS replaces its fixed 30.
set -euo pipefail
CONTROL_URL=${CONTROL_URL:-http://localhost:9000}
INSTANCE_URL_TEMPLATE=${INSTANCE_URL_TEMPLATE:-http://%s.localhost:9000}
# shellcheck disable=SC2059
INSTANCE_URL=$(printf "$INSTANCE_URL_TEMPLATE" e2etest)

# Provision fresh instance
provision=$(curl -sf -X POST "$CONTROL_URL/admin/instances" \
  -H "Authorization: Bearer $TOKEN" \
  -d '{"subdomain": "e2etest", "owner_email": "test@example.com"}')
echo "$provision"
INSTANCE_TOKEN=$(printf '%s' "$provision" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')

# Wait for health
sleep "${WAIT_SECONDS:-30}"
curl -sf -H "Authorization: Bearer $INSTANCE_TOKEN" "$INSTANCE_URL/api/health"
echo

# Check jobs repo exists
curl -sf -H "Authorization: Bearer $INSTANCE_TOKEN" "$INSTANCE_URL/api/jobs/repo"
echo

# Clean up
curl -sf -X DELETE -H "Authorization: Bearer $TOKEN" "$CONTROL_URL/admin/instances/e2etest"
echo
