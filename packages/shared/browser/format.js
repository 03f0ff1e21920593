// @ts-check
// How the pages and the shell write amounts, sizes and times: one rule each, in one place.
// Served as /assets/format.js by the platform and /shell/shared/format.js by every instance.

/**
 * US dollars from micro-dollars (the proxy's unit), THE rounding rule everywhere: floored to the
 * cent, two decimals ("$0.0097" left is "$0.00"... but said as "<$0.01", since it is not nothing).
 * The LLM proxy writes amounts with the same rule on its side.
 * @param {number} micros
 * @returns {string}
 */
export function formatUsd(micros) {
  if (!Number.isFinite(micros)) return '—';
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(Math.round(micros));
  if (abs > 0 && abs < 10_000) return `${sign}<$0.01`;
  const cents = Math.floor(abs / 10_000);
  return `${sign}$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/**
 * Dollars as the APIs give them (a float) to micro-dollars, for formatUsd.
 * @param {number} usd
 */
export const usdToMicros = (usd) => Math.round(usd * 1_000_000);

/**
 * "512 B", "1.2 KiB", "256 MiB", "1.5 GiB": binary units, one decimal below 10.
 * @param {number} n bytes
 * @returns {string}
 */
export function formatBytes(n) {
  if (!Number.isFinite(n) || n < 1024) return `${Math.max(0, Math.round(n || 0))} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/**
 * "just now", "5 minutes ago", "yesterday", … then a date.
 * @param {string} iso
 * @param {number} [now]
 * @returns {string}
 */
export function timeAgo(iso, now = Date.now()) {
  const seconds = (Date.parse(iso) - now) / 1000;
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), 'hour');
  if (abs < 86400 * 30) return relative.format(Math.round(seconds / 86400), 'day');
  return new Date(iso).toLocaleDateString('en', { day: 'numeric', month: 'short', year: 'numeric' });
}

/**
 * "that code is not right; try again" → "That code is not right; try again."
 * @param {unknown} text
 * @returns {string}
 */
export function sentence(text) {
  const t = String(text).trim();
  if (!t) return t;
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
