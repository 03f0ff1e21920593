import { describe, expect, it } from 'vitest';
import { SseParser } from './SseParser.ts';

function parseAll(chunks: (string | Uint8Array)[]): [string, string][] {
  const events: [string, string][] = [];
  const parser = new SseParser((e, d) => events.push([e, d]));
  for (const c of chunks) parser.push(typeof c === 'string' ? new TextEncoder().encode(c) : c);
  parser.end();
  return events;
}

describe('SseParser', () => {
  it('parses named events with data', () => {
    expect(parseAll(['event: ping\ndata: {"type":"ping"}\n\n'])).toEqual([['ping', '{"type":"ping"}']]);
  });

  it('handles every split point of a stream, including CRLF across chunks', () => {
    const text = 'event: a\r\ndata: 1\r\n\r\n: comment\n\nevent: b\rdata: x\rdata: y\r\rdata: z\n\n';
    const whole = parseAll([text]);
    expect(whole).toEqual([
      ['a', '1'],
      ['b', 'x\ny'],
      ['message', 'z'],
    ]);
    for (let i = 1; i < text.length; i++) expect(parseAll([text.slice(0, i), text.slice(i)])).toEqual(whole);
  });

  it('decodes multi-byte characters split across chunks', () => {
    const bytes = new TextEncoder().encode('data: héllo ✓\n\n');
    for (let i = 1; i < bytes.length; i++) {
      expect(parseAll([bytes.slice(0, i), bytes.slice(i)])).toEqual([['message', 'héllo ✓']]);
    }
  });

  it('drops an unterminated last event', () => {
    expect(parseAll(['event: a\ndata: 1\n\nevent: b\ndata: 2\n'])).toEqual([['a', '1']]);
  });
});
