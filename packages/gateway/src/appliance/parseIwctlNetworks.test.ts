import { describe, expect, it } from 'vitest';
import { parseIwctlNetworks } from './parseIwctlNetworks.ts';

// As iwd 2.3 (Debian 12) prints it, colour escapes included.
const sample = [
  '                               Available networks                             ',
  '--------------------------------------------------------------------------------',
  '      Network name                      Security            Signal',
  '--------------------------------------------------------------------------------',
  '  \x1b[0m>   Home Wi-Fi                        psk                 \x1b[1;90m****\x1b[0m',
  '      Café guest                        open                **',
  '      Office                            8021x               *',
  '',
].join('\n');

describe('parseIwctlNetworks', () => {
  it.each([
    ['the connected network', 0, { ssid: 'Home Wi-Fi', security: 'psk', signal: 4, connected: true }],
    [
      'an open one with spaces and accents',
      1,
      { ssid: 'Café guest', security: 'open', signal: 2, connected: false },
    ],
    ['an enterprise one', 2, { ssid: 'Office', security: '8021x', signal: 1, connected: false }],
  ])('reads %s', (_what, index, expected) => {
    expect(parseIwctlNetworks(sample)[index]).toEqual(expected);
  });

  it('skips the header and rules, and finds nothing in "No devices" output', () => {
    expect(parseIwctlNetworks(sample)).toHaveLength(3);
    expect(parseIwctlNetworks('No station on device: wlan0\n')).toEqual([]);
  });
});
