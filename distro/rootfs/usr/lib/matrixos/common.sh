# Shared by the appliance's root scripts: where state lives and how update status is written.
STATE=/var/lib/matrixos/appliance
UPDATE_STATUS=$STATE/update.json
current_version() { (. /usr/lib/os-release && echo "${IMAGE_VERSION:-unknown}"); }
booted_slot() { sed -n 's/.*rauc\.slot=\([A-Za-z0-9]*\).*/\1/p' /proc/cmdline; }
# update_status STATE VERSION [TARGET_VERSION] [MESSAGE]: what the shell's settings show.
update_status() {
  mkdir -p "$STATE"
  printf '{"state":"%s","version":"%s","target":"%s","slot":"%s","message":"%s","at":"%s"}\n' \
    "$1" "$2" "${3:-}" "$(booted_slot)" "${4:-}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$UPDATE_STATUS.tmp"
  chmod 644 "$UPDATE_STATUS.tmp" && mv "$UPDATE_STATUS.tmp" "$UPDATE_STATUS"
}
status_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$UPDATE_STATUS" 2>/dev/null; }
