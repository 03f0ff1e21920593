// @ts-check
// The instance's HTTP API. Paths are relative to the page, so the shell also works behind the
// platform's /proxy/<handle>/ prefix. The session cookie, or the platform's pass, goes along by
// itself.

import { ApiError, errorOf } from '../shared/http.js';

export { ApiError };

/**
 * @param {string} path relative to the page
 * @param {{ method?: string, json?: unknown, body?: BodyInit, headers?: Record<string, string> }} [options]
 * @returns {Promise<Response>}
 */
export async function api(path, { method = 'GET', json, body, headers = {} } = {}) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: json === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: json === undefined ? body : JSON.stringify(json),
  });
  // The session or the pass ended (signed out elsewhere, run out): loading the page again signs in
  // (the sign-in page; on a platform, a new pass through it, or its sign-in).
  if (res.status === 401) {
    location.reload();
    throw new ApiError(401, 'unauthorized', 'signed out');
  }
  if (!res.ok) {
    const error = await errorOf(res);
    if (!error.message) error.message = `HTTP ${res.status}`;
    throw error;
  }
  return res;
}

export const getJson = async (path) => (await api(path)).json();

/** `/files/<path>` with each segment encoded. */
export const fileUrl = (path) => `files/${path.split('/').filter(Boolean).map(encodeURIComponent).join('/')}`;
