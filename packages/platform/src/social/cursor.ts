/**
 * Page cursors: opaque to callers (base64url), a position in a newest-first order to them here.
 * A cursor that does not decode is the caller's mistake: `null`, and the route answers 400.
 */
export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(parts.join('\n')).toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): string[] | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  return parts.length === arity && parts.every((p) => p.length > 0) ? parts : null;
}
