import { getMimeType, mimes } from 'hono/utils/mime';

// Text formats a personal home is full of that the web's list leaves out (or, for .ts, maps to video).
const MIME_TYPES: Record<string, string> = {
  ...mimes,
  md: 'text/markdown; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  jsonl: 'application/jsonl',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
  ts: 'text/plain; charset=utf-8',
};

/** The Content-Type a home file is served with, from its name. */
export function contentTypeOf(path: string): string {
  return getMimeType(path, MIME_TYPES) ?? 'application/octet-stream';
}
