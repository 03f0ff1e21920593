import { z } from 'zod';

/**
 * The appliance's update status, as the root updater and health gate write it
 * (distro/rootfs/usr/lib/matrixos/common.sh, `update_status`) into `<state>/update.json`.
 */
export const updateStatusSchema = z.object({
  state: z.enum(['current', 'downloading', 'installed', 'updated', 'failed', 'rolled-back', 'error']),
  /** The version running when this was written. */
  version: z.string(),
  /** The version being (or last) installed, if any. */
  target: z.string(),
  slot: z.string(),
  message: z.string(),
  at: z.string(),
});
export type UpdateStatus = z.infer<typeof updateStatusSchema>;

export const wifiNetworkSchema = z.object({
  ssid: z.string(),
  security: z.string(),
  /** 0 to 4 bars, as iwd reports them. */
  signal: z.number().int().min(0).max(4),
  connected: z.boolean(),
});
export type WifiNetwork = z.infer<typeof wifiNetworkSchema>;

export const networkReply = z.object({
  online: z.boolean(),
  addresses: z.array(z.string()),
  /** The first Wi-Fi device, or null when the machine has none. */
  wifiDevice: z.string().nullable(),
});

export const applianceReply = z.object({
  version: z.string(),
  setupDone: z.boolean(),
  update: updateStatusSchema.nullable(),
  network: networkReply,
  kiosk: z.object({ setupShownAt: z.string().nullable(), desktopShownAt: z.string().nullable() }),
});

export const wifiListReply = z.object({
  device: z.string().nullable(),
  networks: z.array(wifiNetworkSchema),
});

export const wifiConnectRequest = z.strictObject({
  // SSIDs are at most 32 bytes; WPA passphrases 8 to 63 characters.
  ssid: z.string().min(1, 'is required').max(32, 'is at most 32 characters'),
  passphrase: z.string().min(8, 'is at least 8 characters').max(63, 'is at most 63 characters').optional(),
});

export const factoryResetRequest = z.strictObject({
  /** true: delete the home and the settings too. false (the default): only show the setup again. */
  wipe: z.boolean().default(false),
});

export const setupDoneReply = z.object({ setupDone: z.literal(true) });
export const factoryResetReply = z.object({ requested: z.literal(true), wipe: z.boolean() });
