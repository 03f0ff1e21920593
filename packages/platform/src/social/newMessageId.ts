import { randomInt } from 'node:crypto';

const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';

/** `smsg_` + 9 base-36 digits of milliseconds (ids sort by time) + 12 random ones. */
export function newMessageId(now: number): string {
  let tail = '';
  for (let i = 0; i < 12; i++) tail += DIGITS[randomInt(36)];
  return `smsg_${now.toString(36).padStart(9, '0')}${tail}`;
}
