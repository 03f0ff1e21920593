export type SseListener = (event: string, data: string) => void;

/**
 * Incremental `text/event-stream` parser after the WHATWG rules: LF, CRLF or CR line ends,
 * `event:` and `data:` fields (multi-line data joined by LF), comments, and an unterminated last
 * event dropped. It reads a copy of the stream; the proxy forwards the bytes before parsing them.
 */
export class SseParser {
  readonly #decoder = new TextDecoder();
  readonly #listener: SseListener;
  #buffer = '';
  #event = '';
  #data: string[] = [];

  constructor(listener: SseListener) {
    this.#listener = listener;
  }

  push(chunk: Uint8Array): void {
    this.#feed(this.#decoder.decode(chunk, { stream: true }), false);
  }

  end(): void {
    this.#feed(this.#decoder.decode(), true);
  }

  #feed(text: string, final: boolean): void {
    const buf = this.#buffer + text;
    let start = 0;
    while (start < buf.length) {
      const lf = buf.indexOf('\n', start);
      const cr = buf.indexOf('\r', start);
      const at = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (at === -1) break;
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (at === cr && at === buf.length - 1 && !final) break;
      this.#line(buf.slice(start, at));
      start = at === cr && buf.charCodeAt(at + 1) === 10 ? at + 2 : at + 1;
    }
    this.#buffer = buf.slice(start);
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0) this.#listener(this.#event || 'message', this.#data.join('\n'));
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' starts a comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
  }
}
