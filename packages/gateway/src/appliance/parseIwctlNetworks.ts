import type { WifiNetwork } from './contract.ts';

// iwctl colours its tables; the escapes go before parsing.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters
const ANSI = /\x1b\[[0-9;]*m/g;
const ROW = /^\s*(>)?\s*(.+?)\s{2,}(open|psk|8021x|wep|sae|owe)\s+(\*{0,4})\s*$/;

/**
 * The networks in `iwctl station <dev> get-networks` output (iwd has no machine-readable CLI
 * format; its D-Bus API says the same). Header and rule lines do not match a row.
 */
export function parseIwctlNetworks(output: string): WifiNetwork[] {
  const networks: WifiNetwork[] = [];
  for (const raw of output.split('\n')) {
    const m = ROW.exec(raw.replace(ANSI, ''));
    if (!m) continue;
    networks.push({ ssid: m[2]!, security: m[3]!, signal: m[4]!.length, connected: m[1] === '>' });
  }
  return networks;
}
