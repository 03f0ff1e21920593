import { describe, expect, it } from 'vitest';
import { splitMessage } from './splitMessage.ts';

describe('splitMessage', () => {
  const para = (n: number, ch: string) => `${ch.repeat(n)}`;
  it.each([
    ['short text stays whole', 'hello there', 20, ['hello there']],
    ['cuts at a blank line first', `${para(8, 'a')}\n\n${para(8, 'b')}`, 12, [para(8, 'a'), para(8, 'b')]],
    ['then at a line break', `${para(8, 'a')}\n${para(8, 'b')}`, 12, [para(8, 'a'), para(8, 'b')]],
    ['then at a space', 'aaaaaaa bbbbbbb', 10, ['aaaaaaa', 'bbbbbbb']],
    ['mid-word only when it must', 'abcdefghij', 4, ['abcd', 'efgh', 'ij']],
  ])('%s', (_name, text, limit, expected) => {
    expect(splitMessage(text, limit)).toEqual(expected);
  });

  it('keeps every piece within the limit, and loses no words', () => {
    const words = Array.from({ length: 3000 }, (_, i) => `word${i}`);
    const pieces = splitMessage(words.join(' '), 4096);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(4096);
    expect(pieces.join(' ').split(' ')).toEqual(words);
  });

  it('closes a code fence open at a cut and reopens it in the next piece', () => {
    const code = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    const pieces = splitMessage(`Here:\n\n\`\`\`ts\n${code}\n\`\`\``, 300);
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(300);
      expect((p.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(pieces[1]!.startsWith('```ts\n')).toBe(true);
  });
});
