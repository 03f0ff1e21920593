import { describe, expect, it } from 'vitest';
import { wakesFor } from './appservice.ts';

const member = (room: string, user: string, membership: string, sender = '@hamed_ai:localhost') => ({
  type: 'm.room.member',
  room_id: room,
  sender,
  state_key: user,
  content: { membership },
});
const message = (room: string, sender: string) => ({
  type: 'm.room.message',
  room_id: room,
  sender,
  content: { msgtype: 'm.text', body: 'secret content' },
});

describe('wakesFor', () => {
  const opts = (rooms: Record<string, string[]> = {}) => ({
    serverName: 'localhost',
    handlesIn: (room: string) => rooms[room] ?? [],
  });

  it('wakes the AI an invite is for, and remembers the room', () => {
    const r = wakesFor([member('!a', '@alice_ai:localhost', 'invite')], opts());
    expect([...r.wake]).toEqual(['alice']);
    expect(r.joined).toEqual([['!a', 'alice']]);
  });

  it('wakes every other AI of a room a message is in, never the sender; AI-to-AI is a conversation', () => {
    const r = wakesFor([message('!a', '@hamed_ai:localhost')], opts({ '!a': ['alice', 'hamed'] }));
    expect([...r.wake]).toEqual(['alice']);
    expect(r.conversations).toEqual([['hamed', 'alice']]);
  });

  it("counts an owner's message as no AI conversation", () => {
    const r = wakesFor([message('!a', '@alice:localhost')], opts({ '!a': ['alice'] }));
    expect([...r.wake]).toEqual(['alice']);
    expect(r.conversations).toEqual([]);
  });

  it.each([
    ['another server', member('!a', '@alice_ai:evil.example', 'invite')],
    ['not an AI account', member('!a', '@alice:localhost', 'invite')],
    ['no room', { type: 'm.room.message', sender: '@x:localhost' }],
    ['garbage', 42],
  ])('ignores %s', (_what, event) => {
    const r = wakesFor([event], opts());
    expect(r.wake.size).toBe(0);
    expect(r.joined).toEqual([]);
  });

  it('forgets a room the AI left', () => {
    const r = wakesFor([member('!a', '@alice_ai:localhost', 'leave')], opts());
    expect(r.left).toEqual([['!a', 'alice']]);
    expect(r.wake.size).toBe(0);
  });
});
