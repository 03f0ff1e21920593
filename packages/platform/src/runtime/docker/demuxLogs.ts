/**
 * A container without a TTY sends its output as frames: one byte for the stream (1 stdout,
 * 2 stderr), three zero bytes, a big-endian length, then the payload. This joins the payloads
 * into text in their original order.
 */
export function demuxLogs(buf: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const stream = buf[at]!;
    if (stream > 2 || buf[at + 1] !== 0 || buf[at + 2] !== 0 || buf[at + 3] !== 0) {
      // Not framed (a TTY container): the rest is plain output.
      parts.push(buf.subarray(at));
      return Buffer.concat(parts).toString('utf8');
    }
    const size = buf.readUInt32BE(at + 4);
    parts.push(buf.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
