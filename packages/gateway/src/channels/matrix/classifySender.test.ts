import { describe, expect, it } from 'vitest';
import { classifySender } from './classifySender.ts';

const me = { userId: '@alice_ai:example.org', ownerId: '@alice:example.org' };

describe('classifySender', () => {
  it.each([
    ['@alice_ai:example.org', { kind: 'self' }],
    ['@alice:example.org', { kind: 'owner' }],
    ['@hamed_ai:example.org', { kind: 'peer', handle: 'hamed' }],
    ['@hamed:example.org', { kind: 'stranger' }],
    // Another server's "_ai" is no user of this platform.
    ['@hamed_ai:evil.example', { kind: 'stranger' }],
    // Not a handle (reserved, or not a DNS label).
    ['@admin_ai:example.org', { kind: 'stranger' }],
    ['@Hamed_ai:example.org', { kind: 'stranger' }],
    ['@alice:example.org.evil', { kind: 'stranger' }],
  ])('%s is %o', (sender, expected) => {
    expect(classifySender(sender, me)).toEqual(expected);
  });
});
