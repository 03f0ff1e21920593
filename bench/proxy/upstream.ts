/**
 * The benchmark's upstream: the proxy package's Anthropic stand-in on a fixed port, answering
 * every request with the same short reply (after a first-byte delay, one SSE event per
 * millisecond), or holding a stream open when `metadata.user_id` is `hang` (memory per stream).
 */
import { reply, startUpstreamStandIn } from '@matrixos/proxy/testing';

const text = 'The quick brown fox jumps over the lazy dog. '.repeat(4);
const standIn = await startUpstreamStandIn({
  port: Number(process.env.PORT),
  fallback: (body) =>
    (body.metadata as { user_id?: string } | undefined)?.user_id === 'hang'
      ? reply(text, { hangAfterEvents: 3 })
      : reply(text, {
          firstByteDelayMs: Number(process.env.FIRST_BYTE_MS ?? 5),
          eventDelayMs: Number(process.env.EVENT_MS ?? 1),
          deltaSize: 16,
          usage: { input_tokens: 40, output_tokens: 45 },
        }),
});
// Keep no history: a long run would otherwise grow this process.
setInterval(() => standIn.received.splice(0), 1000).unref();
process.stdout.write(`${standIn.url}\n`);
