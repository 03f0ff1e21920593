import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HttpError } from '@matrixos/shared';
import type { WifiNetwork } from './contract.ts';
import { parseIwctlNetworks } from './parseIwctlNetworks.ts';

const run = promisify(execFile);
const IWCTL_TIMEOUT_MS = 20_000;

export interface Network {
  /** Online: some interface other than loopback has an address (wired DHCP or Wi-Fi). */
  state(): Promise<{ online: boolean; addresses: string[]; wifiDevice: string | null }>;
  wifiNetworks(): Promise<{ device: string | null; networks: WifiNetwork[] }>;
  connectWifi(ssid: string, passphrase: string | undefined): Promise<void>;
}

/** The machine's network, through the kernel's interface list and iwd's `iwctl` (Wi-Fi). */
export function createNetwork({ sysClassNet = '/sys/class/net', iwctl = 'iwctl' } = {}): Network {
  async function wifiDevice(): Promise<string | null> {
    const names = await readdir(sysClassNet).catch(() => [] as string[]);
    for (const name of names.sort()) {
      if (await stat(join(sysClassNet, name, 'wireless')).catch(() => null)) return name;
    }
    return null;
  }
  return {
    async state() {
      const addresses = Object.entries(networkInterfaces()).flatMap(([, list]) =>
        (list ?? []).filter((a) => !a.internal && !a.address.startsWith('fe80:')).map((a) => a.address),
      );
      return { online: addresses.length > 0, addresses, wifiDevice: await wifiDevice() };
    },
    async wifiNetworks() {
      const device = await wifiDevice();
      if (!device) return { device, networks: [] };
      // A fresh scan first; its results come a moment later, so a failed scan is not fatal.
      await run(iwctl, ['station', device, 'scan'], { timeout: IWCTL_TIMEOUT_MS }).catch(() => undefined);
      const { stdout } = await run(iwctl, ['station', device, 'get-networks'], { timeout: IWCTL_TIMEOUT_MS });
      return { device, networks: parseIwctlNetworks(stdout) };
    },
    async connectWifi(ssid, passphrase) {
      const device = await wifiDevice();
      if (!device) throw new HttpError(409, 'no_wifi', 'this machine has no Wi-Fi device');
      const args = passphrase ? ['--passphrase', passphrase] : [];
      await run(iwctl, [...args, 'station', device, 'connect', ssid], { timeout: IWCTL_TIMEOUT_MS }).catch(
        (err: { stderr?: string; stdout?: string }) => {
          const said = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim().split('\n').pop() || 'iwd refused';
          throw new HttpError(502, 'wifi_failed', `could not join "${ssid}": ${said}`);
        },
      );
    },
  };
}
