// The error classes alone: the client itself is loaded on the first chat (kernel.ts).
import { APIConnectionError, APIError } from '@anthropic-ai/sdk/core/error';
// Types only (the gateway is bundled alone): the codes are checked against the proxy's contract.
import type { PROXY_HEADERS, RefusalBody, RefusalCode } from '@matrixos/proxy/contract';

const REFUSAL_HEADER: (typeof PROXY_HEADERS)['refusal'] = 'x-proxy-refusal';

/** The proxy's machine-readable refusal code, from the body (`error.code`) or the `x-proxy-refusal` header. */
function refusalCode(err: APIError): RefusalCode | null {
  const body = err.error as Partial<RefusalBody> | undefined;
  const code = body?.error?.code ?? err.headers?.get(REFUSAL_HEADER) ?? null;
  return typeof code === 'string' ? (code as RefusalCode) : null;
}

/** A failure of the model call, worded for the owner (the shell shows `message` as it is). */
export interface ChatFailure {
  code:
    | 'budget_exhausted'
    | 'rate_limited'
    | 'overloaded'
    | 'key_refused'
    | 'no_key'
    | 'request_refused'
    | 'unreachable'
    | 'upstream_error'
    | 'internal';
  message: string;
}

/**
 * What went wrong, in words for the owner rather than a stack trace. The proxy refuses a budget
 * overrun with Anthropic's own 429 `rate_limit_error` shape plus its code `budget_exhausted`;
 * the code decides, the message is only shown.
 */
export function describeFailure(err: unknown, mode: 'single' | 'platform'): ChatFailure {
  if (!(err instanceof APIError)) {
    return {
      code: 'internal',
      message: "Something went wrong in this instance's AI. The instance's log has the details.",
    };
  }
  const detail = err.apiMessage ?? '';
  if (err instanceof APIConnectionError) {
    return {
      code: 'unreachable',
      message:
        mode === 'platform'
          ? 'The AI service could not be reached. Try again in a moment.'
          : 'Anthropic could not be reached from this instance. Check its network connection and try again.',
    };
  }
  if (refusalCode(err) === 'budget_exhausted') {
    return {
      code: 'budget_exhausted',
      message: `Your AI budget is used up (${withoutStop(detail)}). It is refilled when your limit resets or is raised; meanwhile you can add your own Anthropic key in Settings.`,
    };
  }
  if (err.status === 429) {
    return {
      code: 'rate_limited',
      message: 'Too many AI requests at once right now. Wait a few seconds and try again.',
    };
  }
  if (err.status === 529 || err.type === 'overloaded_error') {
    return {
      code: 'overloaded',
      message: "Anthropic's servers are overloaded right now. Try again in a minute.",
    };
  }
  if (err.status === 401 || err.status === 403) {
    return {
      code: 'key_refused',
      message:
        mode === 'platform'
          ? "This instance's AI key was refused by the platform. Ask the platform's operator to check it."
          : 'Your Anthropic API key was refused. Check it in Settings.',
    };
  }
  if (err.status === 400 || err.status === 404 || err.status === 413) {
    return {
      code: 'request_refused',
      message: `The AI service refused the request: ${withoutStop(detail) || `HTTP ${err.status}`}.`,
    };
  }
  const what = err.status ? `HTTP ${err.status}` : (err.type ?? 'an error in the middle of the answer');
  return { code: 'upstream_error', message: `The AI service failed (${what}). Try again in a moment.` };
}

const withoutStop = (s: string) => s.trim().replace(/\.$/, '');
