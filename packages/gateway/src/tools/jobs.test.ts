import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { reply, startUpstreamStandIn, toolCall, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../test/harness.ts';
import { connectSocket, type TestSocket } from '../../test/socket.ts';

let upstream: UpstreamStandIn;
let gw: TestGateway;
let socket: TestSocket;
beforeAll(async () => {
  upstream = await startUpstreamStandIn();
});
afterAll(() => upstream.close());
beforeEach(async () => {
  upstream.reset();
  gw = await startGateway(
    { handle: 'alice', anthropicBaseUrl: upstream.url, anthropicApiKey: 'sk-ant-test-key' },
    { jobs: true },
  );
  socket = await connectSocket(gw);
  await socket.next('ready');
});
afterEach(async () => {
  socket.close();
  await gw.close();
});

async function chat(text: string) {
  const requestId = `r${Math.random()}`;
  socket.send({ type: 'chat.send', text, requestId });
  const started = await socket.next('chat.started', (e) => e.requestId === requestId);
  await socket.next('chat.done', (e) => e.turnId === started.turnId, 30_000);
  return socket.events.filter((e) => e.turnId === started.turnId);
}

type Block = { type: string; content?: string; is_error?: boolean };
const lastToolResult = () => {
  const calls = upstream.received.filter((r) => r.path === '/v1/messages');
  const body = calls.at(-1)!.body as { messages: { content: string | Block[] }[] };
  return (body.messages.at(-1)!.content as Block[]).find((b) => b.type === 'tool_result')!;
};

const DIGEST = `export default async function run(ctx) {
  const summary = await ctx.ai('Summarize my inbox in one line.');
  await ctx.notify('Digest: ' + summary);
}
`;

describe('the AI writes jobs (save_job)', () => {
  it('writes the module and manifest entry, validates, commits, reports next runs; the job uses the AI', async () => {
    upstream.enqueue(
      toolCall('save_job', {
        id: 'morning-digest',
        cron: '0 8 * * *',
        timezone: 'UTC',
        description: 'put a summary of my inbox in my notes',
        code: DIGEST,
      }),
      reply('Done: it runs every morning at 8.'),
    );
    await chat('every morning at 8, put a summary of my inbox in my notes');
    const result = lastToolResult();
    expect(result.is_error).toBeFalsy();
    expect(result.content).toMatch(
      /^Job morning-digest added and committed\. Next runs \(UTC\): \S+T08:00:00\.000Z, /,
    );
    expect(await readFile(join(gw.home, 'jobs', 'morning-digest.mjs'), 'utf8')).toBe(DIGEST);
    const subjects = execFileSync(
      'git',
      ['-c', 'safe.directory=*', '-C', join(gw.home, 'jobs'), 'log', '--format=%s'],
      {
        encoding: 'utf8',
      },
    );
    expect(subjects.split('\n')[0]).toBe('Add job morning-digest: put a summary of my inbox in my notes');
    const list = await (await gw.api('/api/jobs')).json();
    expect(list.jobs.map((j: { id: string }) => j.id)).toContain('morning-digest');

    // The job itself asks the AI (here the stand-in) and writes to the inbox.
    upstream.enqueue(reply('3 new messages, none urgent.'));
    const run = await (await gw.api('/api/jobs/morning-digest/run?wait=true', { method: 'POST' })).json();
    expect(run.run.status).toBe('success');
    const inbox = await (await gw.api('/api/messages')).json();
    expect(inbox.messages.at(-1)).toMatchObject({
      text: 'Digest: 3 new messages, none urgent.',
      from: 'job:morning-digest',
    });
  });

  it('refuses a job with a syntax error, naming the line, and changes nothing', async () => {
    const manifestBefore = await readFile(join(gw.home, 'jobs', 'jobs.json'), 'utf8');
    upstream.enqueue(
      toolCall('save_job', {
        id: 'broken',
        cron: '0 8 * * *',
        code: 'export default async function run() {\n  let x = ;\n}\n',
      }),
      reply('Sorry.'),
    );
    await chat('make a broken job');
    const result = lastToolResult();
    expect(result.is_error).toBe(true);
    expect(result.content).toMatch(/broken\.mjs line 2: SyntaxError/);
    await expect(stat(join(gw.home, 'jobs', 'broken.mjs'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(gw.home, 'jobs', 'jobs.json'), 'utf8')).toBe(manifestBefore);
  });

  it("refuses a bad cron with croner's reason", async () => {
    upstream.enqueue(
      toolCall('save_job', { id: 'odd', cron: 'every full moon', code: 'export default async () => {};\n' }),
      reply('Hm.'),
    );
    await chat('a job at every full moon');
    expect(lastToolResult()).toMatchObject({
      is_error: true,
      content: expect.stringMatching(/cron "every full moon"/),
    });
  });
});
