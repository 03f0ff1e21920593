import { describe, expect, it } from 'vitest';
import { demuxLogs } from './demuxLogs.ts';

const frame = (stream: 1 | 2, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('demuxLogs', () => {
  it('joins stdout and stderr frames in order, without the headers', () => {
    const buf = Buffer.concat([frame(1, 'listening\n'), frame(2, 'warning: ü\n'), frame(1, 'done\n')]);
    expect(demuxLogs(buf)).toBe('listening\nwarning: ü\ndone\n');
  });

  it('passes unframed (TTY) output through as text', () => {
    expect(demuxLogs(Buffer.from('plain output from a tty\n'))).toBe('plain output from a tty\n');
  });
});
