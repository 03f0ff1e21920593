/**
 * The child process one job run lives in (and, with `check`, the module check): it imports the
 * job's module and calls its default export with a small context. Only Node's built-ins here: it
 * is bundled on its own (`bin/job-runner.mjs`) and starts in a few tens of milliseconds.
 * Usage: node runner.ts run|check <module path>
 */
import { pathToFileURL } from 'node:url';

type Message = { type: 'notify'; text: string } | { type: 'check'; ok: boolean; message?: string };

function send(message: Message): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, () => resolve());
  });
}

async function ai(prompt: string, opts: { model?: string; maxTokens?: number } = {}): Promise<string> {
  const base = process.env.ANTHROPIC_BASE_URL;
  const key = process.env.ANTHROPIC_API_KEY;
  if (!base || !key) throw new Error('the AI is not configured for this instance');
  const res = await fetch(`${base.replace(/\/+$/, '')}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: opts.model ?? process.env.MATRIXOS_JOB_MODEL ?? 'claude-sonnet-4-5',
      max_tokens: opts.maxTokens ?? 1024,
      messages: [{ role: 'user', content: prompt }],
    }),
  });
  const body = (await res.json()) as {
    content?: { type: string; text?: string }[];
    error?: { message?: string };
  };
  if (!res.ok)
    throw new Error(`AI request failed (${res.status}): ${body.error?.message ?? 'unknown error'}`);
  return (body.content ?? []).map((b) => (b.type === 'text' ? (b.text ?? '') : '')).join('');
}

const [mode, file] = process.argv.slice(2);
if (!file || (mode !== 'run' && mode !== 'check')) {
  process.stderr.write('usage: runner run|check <module>\n');
  process.exit(2);
}

let mod: { default?: unknown };
try {
  mod = await import(pathToFileURL(file).href);
} catch (err) {
  if (mode === 'check') {
    await send({ type: 'check', ok: false, message: (err as Error).message });
    process.exit(0);
  }
  throw err;
}
if (typeof mod.default !== 'function') {
  const message = 'the module has no default export function (export default async function run(ctx) {...})';
  if (mode === 'check') await send({ type: 'check', ok: false, message });
  else process.stderr.write(`${message}\n`);
  process.exit(mode === 'check' ? 0 : 1);
}
if (mode === 'check') {
  await send({ type: 'check', ok: true });
  process.exit(0);
}

const ctx = {
  ai,
  notify: (text: string) => send({ type: 'notify', text: String(text) }),
  secrets: { ...process.env },
};
await (mod.default as (c: typeof ctx) => unknown)(ctx);
// A job that leaves a timer or socket open is done when its function returns.
process.exit(0);
