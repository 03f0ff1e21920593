import type { TokenUsage } from './cost.ts';

/** What admission needs from a Messages API request body (the rest is the API's business). */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  stream?: boolean;
  [key: string]: unknown;
}

/**
 * Conservative stand-ins for what cannot be counted without the model's tokenizer. Text is
 * counted as one token per 3 bytes of the request (English runs at ~4-5 bytes per token, code
 * and CJK at ~3, and the JSON syntax around the text adds slack); an image is billed by its pixel
 * count, at most a few thousand tokens after the API's downscaling; a PDF page is text plus an
 * image; a file or URL we cannot see is assumed large.
 */
const BYTES_PER_TOKEN = 3;
const IMAGE_TOKENS = 8_000;
const PDF_PAGE_TOKENS = 10_000;
const UNSEEN_DOCUMENT_TOKENS = 100_000;
/** Using tools adds a system prompt of a few hundred tokens. */
const TOOLS_OVERHEAD_TOKENS = 1_000;

interface Walk {
  mediaBytes: number;
  mediaTokens: number;
  cacheWrite: 'none' | '5m' | '1h';
  webSearchMaxUses: number;
}

function countPdfPages(base64: string): number {
  return (
    Buffer.from(base64, 'base64')
      .toString('latin1')
      .match(/\/Type\s*\/Page(?!s)/g)?.length ?? 0
  );
}

function walk(node: unknown, acc: Walk): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, acc);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if ((o.type === 'image' || o.type === 'document') && o.source && typeof o.source === 'object') {
    const source = o.source as Record<string, unknown>;
    const data = typeof source.data === 'string' ? source.data : null;
    if (source.type === 'base64' && data !== null) {
      acc.mediaBytes += data.length;
      if (o.type === 'image') acc.mediaTokens += IMAGE_TOKENS;
      else {
        const pages = countPdfPages(data);
        acc.mediaTokens +=
          pages > 0 ? pages * PDF_PAGE_TOKENS : Math.ceil((data.length * 0.75) / BYTES_PER_TOKEN);
      }
    } else if (source.type !== 'text' && source.type !== 'content') {
      acc.mediaTokens += o.type === 'image' ? IMAGE_TOKENS : UNSEEN_DOCUMENT_TOKENS;
    }
  }
  if (o.cache_control && typeof o.cache_control === 'object') {
    const ttl = (o.cache_control as Record<string, unknown>).ttl;
    acc.cacheWrite = ttl === '1h' || acc.cacheWrite === '1h' ? '1h' : '5m';
  }
  if (typeof o.type === 'string' && o.type.startsWith('web_search') && typeof o.max_uses === 'number') {
    acc.webSearchMaxUses += o.max_uses;
  }
  for (const value of Object.values(o)) walk(value, acc);
}

/**
 * The most a request can plausibly cost, as token counts: its prompt estimated from its size (all
 * of it billed as cache writes when it asks for caching, the dearest way to send input) and the
 * full `max_tokens` of output. Admission reserves its price; settlement replaces it with the truth.
 */
export function worstCaseUsage(body: MessagesRequest, bodyBytes: number): TokenUsage {
  const acc: Walk = { mediaBytes: 0, mediaTokens: 0, cacheWrite: 'none', webSearchMaxUses: 0 };
  walk(body, acc);
  const prompt =
    Math.ceil(Math.max(0, bodyBytes - acc.mediaBytes) / BYTES_PER_TOKEN) +
    acc.mediaTokens +
    (Array.isArray(body.tools) && body.tools.length > 0 ? TOOLS_OVERHEAD_TOKENS : 0);
  return {
    inputTokens: acc.cacheWrite === 'none' ? prompt : 0,
    cacheWrite5mTokens: acc.cacheWrite === '5m' ? prompt : 0,
    cacheWrite1hTokens: acc.cacheWrite === '1h' ? prompt : 0,
    cacheReadTokens: 0,
    outputTokens: body.max_tokens,
    webSearchRequests: acc.webSearchMaxUses,
  };
}

/** The input part of the worst case, billed when the API never said how long the prompt was. */
export function estimatedInputOnly(worst: TokenUsage): TokenUsage {
  return { ...worst, outputTokens: 0, webSearchRequests: 0 };
}
