import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  overloaded,
  reply,
  type Script,
  startUpstreamStandIn,
  toolCall,
  type UpstreamStandIn,
} from '@matrixos/proxy/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../test/harness.ts';
import { connectSocket, type Event, type TestSocket } from '../../test/socket.ts';

const KEY = 'sk-ant-owner-key-for-tests';

let upstream: UpstreamStandIn;
let gw: TestGateway;
let socket: TestSocket;

beforeAll(async () => {
  upstream = await startUpstreamStandIn();
});
afterAll(() => upstream.close());
beforeEach(async () => {
  upstream.reset();
  gw = await startGateway({ handle: 'alice', anthropicBaseUrl: upstream.url, anthropicApiKey: KEY });
  socket = await connectSocket(gw);
  await socket.next('ready');
});
afterEach(async () => {
  socket.close();
  await gw.close();
});

type Body = {
  model: string;
  max_tokens: number;
  system: string;
  tools: { name: string }[];
  messages: Message[];
};
type Message = { role: string; content: string | Block[] };
type Block = {
  type: string;
  text?: string;
  id?: string;
  tool_use_id?: string;
  content?: string;
  is_error?: boolean;
};

const bodyOf = (i: number) => upstream.received.filter((r) => r.path === '/v1/messages')[i]!.body as Body;
const messageCalls = () => upstream.received.filter((r) => r.path === '/v1/messages').length;

/** Sends a chat message and waits for the turn's end; returns every event of that turn. */
async function chat(
  text: string,
  conversationId?: string,
): Promise<{ turn: Event[]; started: Event; done: Event }> {
  const requestId = `r${Math.random()}`;
  socket.send({ type: 'chat.send', text, requestId, ...(conversationId ? { conversationId } : {}) });
  const started = await socket.next('chat.started', (e) => e.requestId === requestId);
  const done = await socket.next('chat.done', (e) => e.turnId === started.turnId, 30_000);
  return { turn: socket.events.filter((e) => e.turnId === started.turnId), started, done };
}

const toolResults = (body: Body) =>
  (body.messages.at(-1)!.content as Block[]).filter((b) => b.type === 'tool_result');

describe('the kernel over /ws', () => {
  it('streams the answer in deltas and keeps the conversation in the home', async () => {
    upstream.enqueue(reply('Hello Alice, how can I help you today?', { deltaSize: 5 }));
    const { turn, started, done } = await chat('Hi there');

    const deltas = turn.filter((e) => e.type === 'chat.delta').map((e) => e.text);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe('Hello Alice, how can I help you today?');
    expect(done).toMatchObject({ stopReason: 'end_turn', usage: { outputTokens: expect.any(Number) } });
    expect(started).toMatchObject({ title: 'Hi there', text: 'Hi there' });

    // What the model got: the configured model and limits, streaming, the tools, the home's profile.
    const body = bodyOf(0);
    expect(body).toMatchObject({ model: 'claude-sonnet-5-5', max_tokens: 16000, stream: true });
    expect(body.tools.map((t) => t.name).sort()).toEqual([
      'create_app',
      'list_directory',
      'list_jobs',
      'read_file',
      'remember',
      'save_job',
      'write_file',
    ]);
    expect(body.system).toContain('@alice');
    expect(body.system).toContain('# About me');
    expect(body.system).not.toContain('Budget:'); // single-user: no platform budget
    // SDK 1.x sends the key as a bearer token (the API and the proxy take either form).
    expect(upstream.received[0]!.headers.authorization).toBe(`Bearer ${KEY}`);

    const id = started.conversationId as string;
    const stored = JSON.parse(await readFile(join(gw.home, 'data/conversations', `${id}.json`), 'utf8'));
    expect(stored.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Hi there' }] },
      {
        role: 'assistant',
        content: [expect.objectContaining({ type: 'text', text: 'Hello Alice, how can I help you today?' })],
      },
    ]);
    const list = await (await gw.api('/api/conversations')).json();
    expect(list.conversations).toEqual([expect.objectContaining({ id, title: 'Hi there' })]);

    // Resuming: the next message goes out with the whole conversation before it.
    upstream.enqueue(reply('Still here.'));
    await chat('Are you still there?', id);
    expect(bodyOf(1).messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    const view = await (await gw.api(`/api/conversations/${id}`)).json();
    expect(view.items).toEqual([
      { role: 'user', text: 'Hi there' },
      { role: 'assistant', text: 'Hello Alice, how can I help you today?' },
      { role: 'user', text: 'Are you still there?' },
      { role: 'assistant', text: 'Still here.' },
    ]);
  });

  it('runs a tool and sends its result back in the next request', async () => {
    upstream.enqueue(
      toolCall('write_file', { path: 'notes/plan.md', content: '# Plan\n' }),
      reply('I wrote your plan to notes/plan.md.'),
    );
    const { turn, done } = await chat('Write my plan');
    expect(done.stopReason).toBe('end_turn');
    expect(await readFile(join(gw.home, 'notes/plan.md'), 'utf8')).toBe('# Plan\n');

    const toolUse = (upstream.received[0]!.sent.join('').match(/"id":"(toolu_[^"]+)"/) ?? [])[1];
    expect(toolUse).toBeTruthy();
    const second = bodyOf(1);
    expect(second.messages.at(-2)).toMatchObject({
      role: 'assistant',
      content: [{ type: 'tool_use', id: toolUse }],
    });
    expect(toolResults(second)).toEqual([
      { type: 'tool_result', tool_use_id: toolUse, content: 'Created notes/plan.md (7 bytes).' },
    ]);

    const tools = turn.filter((e) => e.type === 'chat.tool' || e.type === 'chat.tool_result');
    expect(tools).toEqual([
      expect.objectContaining({ type: 'chat.tool', name: 'write_file', status: 'preparing' }),
      expect.objectContaining({
        type: 'chat.tool',
        name: 'write_file',
        status: 'running',
        summary: 'notes/plan.md',
      }),
      expect.objectContaining({ type: 'chat.tool_result', ok: true, summary: 'Wrote notes/plan.md (7 B)' }),
    ]);
    // The shell's file browser hears about it too.
    expect(socket.events).toContainEqual({ type: 'files.changed', path: 'notes/plan.md', action: 'created' });
  });

  it('refuses every path outside the home as an is_error result, and the loop goes on', async () => {
    const outside = join(tmpdir(), `matrixos-outside-${process.pid}`);
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'secret.txt'), 'SECRET-CONTENT');
    await symlink(outside, join(gw.home, 'elsewhere'));
    const attempts: [string, Record<string, string>][] = [
      ['read_file', { path: '../../etc/passwd' }],
      ['read_file', { path: '/etc/passwd' }],
      ['read_file', { path: '.matrixos/auth-token' }],
      ['read_file', { path: 'elsewhere/secret.txt' }],
      ['list_directory', { path: '..' }],
      ['write_file', { path: 'notes/../../escape.txt', content: 'x' }],
      ['write_file', { path: 'elsewhere/new.txt', content: 'x' }],
      ['write_file', { path: '.matrixos/sessions.json', content: '[]' }],
    ];
    const script: Script = {
      kind: 'message',
      content: attempts.map(([name, input]) => ({ type: 'tool_use', name, input })),
      stopReason: 'tool_use',
    };
    upstream.enqueue(script, reply('I cannot reach those.'));
    const { done } = await chat('Show me everything');
    expect(done.stopReason).toBe('end_turn');

    const results = toolResults(bodyOf(1));
    expect(results).toHaveLength(attempts.length);
    for (const result of results) {
      expect(result.is_error, result.content).toBe(true);
      expect(result.content).toMatch(/^Error: /);
      expect(result.content).not.toMatch(/root:|SECRET-CONTENT/);
    }
    expect(results.map((r) => r.content)).toEqual([
      'Error: the path must not contain . or .. segments',
      'Error: paths are relative to the home, like notes/today.md',
      "Error: .matrixos/ holds the instance's own state",
      'Error: the path leads outside the home',
      'Error: the path must not contain . or .. segments',
      'Error: the path must not contain . or .. segments',
      'Error: the path leads outside the home',
      "Error: .matrixos/ holds the instance's own state",
    ]);
    expect(JSON.stringify(bodyOf(1))).not.toContain(gw.token);
    await expect(readFile(join(outside, 'new.txt'))).rejects.toThrow(/ENOENT/);
    await rm(outside, { recursive: true, force: true });
  });

  it('stops after ai.maxTurns model calls, and the conversation still goes on afterwards', async () => {
    await writeFile(join(gw.home, 'system/config.json'), JSON.stringify({ ai: { maxTurns: 3 } }));
    for (let i = 0; i < 5; i++) upstream.enqueue(toolCall('list_directory', {}));
    const { started, done } = await chat('Look around forever');
    expect(done.stopReason).toBe('max_turns');
    expect(messageCalls()).toBe(3);

    upstream.reset();
    upstream.enqueue(reply('Done looking.'));
    const next = await chat('Enough, summarise', started.conversationId as string);
    expect(next.done.stopReason).toBe('end_turn');
    // The unanswered tool results and the new text travel as one user message.
    const last = bodyOf(0).messages.at(-1)!;
    expect(last.role).toBe('user');
    expect((last.content as Block[]).map((b) => b.type)).toEqual(['tool_result', 'text']);
  });

  it('builds an app that the instance then serves, sandboxed', async () => {
    upstream.enqueue(
      toolCall('create_app', {
        name: 'todo',
        title: 'Todo',
        description: 'Things to do',
        html: '<h1>Todo</h1>',
      }),
      reply('Your Todo app is ready.'),
    );
    const { turn } = await chat('Build me a todo app');
    const result = turn.find((e) => e.type === 'chat.tool_result')!;
    expect(result).toMatchObject({
      ok: true,
      summary: 'Created app “Todo”',
      app: { name: 'todo', title: 'Todo', url: 'apps/todo/' },
    });
    const apps = await (await gw.api('/api/apps')).json();
    expect(apps.apps).toEqual([
      expect.objectContaining({ name: 'todo', title: 'Todo', description: 'Things to do' }),
    ]);
    const page = await gw.api('/apps/todo/');
    expect(await page.text()).toBe('<h1>Todo</h1>');
    expect(page.headers.get('content-security-policy')).toMatch(/sandbox allow-scripts/);
  });

  it('remembers notes in system/memory.md and puts them in the next system prompt', async () => {
    upstream.enqueue(toolCall('remember', { note: 'Alice takes her coffee black' }), reply('Noted.'));
    await chat('I take my coffee black, remember that');
    expect(await readFile(join(gw.home, 'system/memory.md'), 'utf8')).toMatch(
      /^# Memory\n[\s\S]*\n- \d{4}-\d\d-\d\d: Alice takes her coffee black\n$/,
    );
    upstream.enqueue(reply('Black, as always.'));
    await chat('How do I take my coffee?');
    expect(bodyOf(2).system).toContain('Alice takes her coffee black');
  });

  it('shows an overloaded API (529, after the SDK retried) as a plain message', async () => {
    upstream.enqueue(overloaded(), overloaded(), overloaded());
    const { turn, done } = await chat('Hello?');
    const error = turn.find((e) => e.type === 'chat.error')!;
    expect(error).toMatchObject({
      code: 'overloaded',
      message: "Anthropic's servers are overloaded right now. Try again in a minute.",
    });
    expect(done.stopReason).toBe('error');
    expect(messageCalls()).toBe(3);
  });

  it('shows an error event in the middle of a stream as a plain message, after the text so far', async () => {
    upstream.enqueue(
      reply('This answer will not finish because', {
        deltaSize: 4,
        errorAfterEvents: 5,
        errorType: 'api_error',
      }),
    );
    const { turn, started, done } = await chat('Tell me a story');
    expect(turn.some((e) => e.type === 'chat.delta')).toBe(true);
    const error = turn.find((e) => e.type === 'chat.error')!;
    expect(error).toMatchObject({
      code: 'upstream_error',
      message: 'The AI service failed (api_error). Try again in a moment.',
    });
    expect(String(error.message)).not.toMatch(/\bat .*:\d+|Error:/);
    expect(done.stopReason).toBe('error');
    // The broken answer is not kept: the conversation ends with the owner's message.
    const view = await (await gw.api(`/api/conversations/${started.conversationId}`)).json();
    expect(view.items).toEqual([{ role: 'user', text: 'Tell me a story' }]);
  });

  it('shows a budget refusal in the shape the proxy sends it as a plain message, without retrying', async () => {
    upstream.enqueue({
      kind: 'error',
      status: 429,
      type: 'rate_limit_error',
      message: 'total budget of $5.00 reached: $4.99 spent, and this request may cost up to $0.16',
      headers: { 'x-should-retry': 'false', 'x-proxy-refusal': 'budget_exhausted' },
    });
    const { turn } = await chat('Hi');
    expect(turn.find((e) => e.type === 'chat.error')).toMatchObject({
      code: 'budget_exhausted',
      message: expect.stringMatching(/^Your AI budget is used up \(total budget of \$5\.00 reached: .*\)\./),
    });
    expect(messageCalls()).toBe(1);
  });

  it('cancels a turn on request, keeping the text already shown', async () => {
    upstream.enqueue(
      reply('One, two, three, four, five, six, seven, eight, nine, ten.', { deltaSize: 3, eventDelayMs: 40 }),
    );
    const requestId = 'cancel-me';
    socket.send({ type: 'chat.send', text: 'Count to ten slowly', requestId });
    const started = await socket.next('chat.started', (e) => e.requestId === requestId);
    await socket.next('chat.delta', (e) => e.turnId === started.turnId);
    await socket.next('chat.delta', (e) => e.turnId === started.turnId);
    socket.send({ type: 'chat.cancel', conversationId: started.conversationId });
    const done = await socket.next('chat.done', (e) => e.turnId === started.turnId);
    expect(done.stopReason).toBe('cancelled');
    await expect.poll(() => upstream.received[0]!.aborted).toBe(true);

    const view = await (await gw.api(`/api/conversations/${started.conversationId}`)).json();
    expect(view.items[1].role).toBe('assistant');
    expect('One, two, three, four, five, six, seven, eight, nine, ten.'.startsWith(view.items[1].text)).toBe(
      true,
    );
  });

  it('runs one turn at a time per conversation, and says so to the sender alone', async () => {
    upstream.enqueue(reply('first'));
    const first = await chat('First');
    const id = first.started.conversationId as string;
    upstream.enqueue(reply('A slow answer', { deltaSize: 1, eventDelayMs: 30 }));
    socket.send({ type: 'chat.send', text: 'Second', conversationId: id, requestId: 'second' });
    await socket.next('chat.started', (e) => e.requestId === 'second');
    const other = await connectSocket(gw);
    other.send({ type: 'chat.send', text: 'Third', conversationId: id, requestId: 'third' });
    expect(await other.next('error', (e) => e.requestId === 'third')).toMatchObject({
      code: 'busy',
      message: expect.stringMatching(/still answering/),
    });
    other.close();
    expect(socket.events.some((e) => e.requestId === 'third')).toBe(false);
    socket.send({ type: 'chat.cancel', conversationId: id });
    await socket.next('chat.done', (e) => e.conversationId === id && e.stopReason === 'cancelled');
    socket.send({ type: 'chat.cancel', conversationId: id });
    expect(await socket.next('error')).toMatchObject({ code: 'not_running' });
  });

  it('refuses malformed chat messages with a reason', async () => {
    socket.send({ type: 'chat.send' });
    expect(await socket.next('error')).toMatchObject({
      code: 'invalid_message',
      message: expect.stringMatching(/text/),
    });
    socket.send({ type: 'chat.send', text: 'hi', conversationId: '../../etc/passwd' });
    expect(await socket.next('error')).toMatchObject({ code: 'invalid_message' });
    socket.send({ type: 'chat.send', text: '   ', requestId: 'blank' });
    expect(await socket.next('error')).toMatchObject({ code: 'empty_message', requestId: 'blank' });
    socket.send({ type: 'chat.send', text: 'hi', conversationId: 'c_000000000deadbeef', requestId: 'gone' });
    expect(await socket.next('error')).toMatchObject({ code: 'not_found', requestId: 'gone' });
    expect(messageCalls()).toBe(0);
  });
});

describe('the kernel without a key', () => {
  it('tells the owner to add one in Settings, and calls nothing', async () => {
    const keyless = await startGateway({ anthropicBaseUrl: upstream.url, anthropicApiKey: undefined });
    const s = await connectSocket(keyless);
    s.send({ type: 'chat.send', text: 'Hello', requestId: 'x' });
    expect(await s.next('chat.error')).toMatchObject({
      code: 'no_key',
      message: 'No Anthropic API key is set up yet. Add yours in Settings to start chatting.',
    });
    expect(await s.next('chat.done')).toMatchObject({ stopReason: 'error' });
    expect(messageCalls()).toBe(0);
    s.close();
    await keyless.close();
  });
});
