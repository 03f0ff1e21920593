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

/**
 * What one use of a server tool adds to the prompt of the passes after it. The API runs the
 * tool and samples again with the result in context, so a request with n uses is n + 1 passes,
 * each billed its whole prompt. A search's results (a page of snippets with encrypted content)
 * are counted as 20,000 tokens; a fetched document as its `max_content_tokens`.
 */
export const SEARCH_RESULT_TOKENS = 20_000;

/** The server tools of a request, as far as they can be bounded. */
export interface ServerTools {
  searchUses: number;
  fetchUses: number;
  /** The sum over fetch uses of their `max_content_tokens`. */
  fetchTokens: number;
  /** Why a server tool cannot be bounded (the request is then refused), or null. */
  unbounded: string | null;
}

interface Walk {
  mediaBytes: number;
  mediaTokens: number;
  cacheWrite: 'none' | '5m' | '1h';
}

const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** A declared tool: counts its uses if it is a server tool, or says why it cannot be bounded. */
function serverTool(tool: Record<string, unknown>, acc: ServerTools): void {
  const type = typeof tool.type === 'string' ? tool.type : '';
  if (type.startsWith('web_search')) {
    if (!positiveInt(tool.max_uses)) acc.unbounded ??= `the ${type} tool needs max_uses`;
    else acc.searchUses += tool.max_uses;
  } else if (type.startsWith('web_fetch')) {
    if (!positiveInt(tool.max_uses) || !positiveInt(tool.max_content_tokens))
      acc.unbounded ??= `the ${type} tool needs max_uses and max_content_tokens`;
    else {
      acc.fetchUses += tool.max_uses;
      acc.fetchTokens += tool.max_uses * tool.max_content_tokens;
    }
  } else if (type.startsWith('code_execution')) {
    acc.unbounded ??= `the ${type} tool is billed by container time, which the proxy cannot bound`;
  }
}

/** The server tools a request declares (`tools`, and `mcp_servers`, which the proxy cannot bound). */
export function serverToolsOf(body: MessagesRequest): ServerTools {
  const acc: ServerTools = { searchUses: 0, fetchUses: 0, fetchTokens: 0, unbounded: null };
  if (Array.isArray(body.tools)) {
    for (const tool of body.tools)
      if (tool && typeof tool === 'object') serverTool(tool as Record<string, unknown>, acc);
  }
  if (Array.isArray(body.mcp_servers) && body.mcp_servers.length > 0)
    acc.unbounded ??= 'MCP servers return results of any size, which the proxy cannot bound';
  return acc;
}

export const usesServerTools = (t: ServerTools) => t.searchUses + t.fetchUses > 0;

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
  for (const value of Object.values(o)) walk(value, acc);
}

/**
 * The most a request can plausibly cost, as token counts: its prompt estimated from its size (all
 * of it billed as cache writes when it asks for caching, the dearest way to send input), the
 * full `max_tokens` of output, and for server tools every allowed use: its fee, one more pass over
 * the prompt, and its result in the prompt of every later pass. Admission reserves its price;
 * settlement replaces it with the truth.
 */
export function worstCaseUsage(body: MessagesRequest, bodyBytes: number): TokenUsage {
  const tools = serverToolsOf(body);
  const acc: Walk = { mediaBytes: 0, mediaTokens: 0, cacheWrite: 'none' };
  walk(body, acc);
  const base =
    Math.ceil(Math.max(0, bodyBytes - acc.mediaBytes) / BYTES_PER_TOKEN) +
    acc.mediaTokens +
    (Array.isArray(body.tools) && body.tools.length > 0 ? TOOLS_OVERHEAD_TOKENS : 0);
  const uses = tools.searchUses + tools.fetchUses;
  // Every result is in the prompt of at most `uses` later passes.
  const results = tools.searchUses * SEARCH_RESULT_TOKENS + tools.fetchTokens;
  const prompt = base * (uses + 1) + results * uses;
  return {
    inputTokens: acc.cacheWrite === 'none' ? prompt : 0,
    cacheWrite5mTokens: acc.cacheWrite === '5m' ? prompt : 0,
    cacheWrite1hTokens: acc.cacheWrite === '1h' ? prompt : 0,
    cacheReadTokens: 0,
    outputTokens: body.max_tokens,
    webSearchRequests: tools.searchUses,
  };
}

/** The input part of the worst case, billed when the API never said how long the prompt was. */
export function estimatedInputOnly(worst: TokenUsage): TokenUsage {
  return { ...worst, outputTokens: 0, webSearchRequests: 0 };
}
