// @ts-check
// The error answers of every API here (`{"error": {"code", "message"}}`), read the same way by
// the pages and the shell. Served as /assets/http.js and /shell/shared/http.js.

export class ApiError extends Error {
  /**
   * @param {number} status 0: no answer at all (the network)
   * @param {string} code
   * @param {string} message
   * @param {number | null} [retryAfter] seconds, from Retry-After
   */
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * The ApiError a non-2xx response stands for (its JSON error, or its status alone).
 * @param {Response} res
 * @returns {Promise<ApiError>}
 */
export async function errorOf(res) {
  const answer = await res.json().catch(() => null);
  const error = answer?.error ?? {};
  const retryAfter = Number(res.headers.get('retry-after')) || null;
  return new ApiError(res.status, error.code ?? `http_${res.status}`, error.message ?? '', retryAfter);
}
