import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from './harness.ts';

/**
 * The rollout API's edges (issue 10 §5), on a real platform: admins only, a body that is empty or
 * `{}` and nothing else, a size limit before reading, a rate limit, and every refusal leaves no
 * rollout behind. The rollouts themselves are in test/docker/rollout.test.ts.
 */
describe('/admin/rollout', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process' });
    await t.reconciled;
  });
  afterAll(() => t?.destroy());

  const post = (body?: string, headers: Record<string, string> = {}) =>
    t.request({
      method: 'POST',
      path: '/admin/rollout',
      body,
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', ...headers },
    });

  it('answers only to admins', async () => {
    for (const method of ['GET', 'POST']) {
      const r = await t.request({ method, path: '/admin/rollout' });
      expect(r.status).toBe(401);
      expect(r.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
  });

  it('shows that there never was a rollout, and the images to keep', async () => {
    const r = await t.admin('GET', '/admin/rollout');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ rollout: null, configuredImage: t.config.instance.image, imagesInUse: [] });
  });

  it('refuses a body it does not understand, naming the problem, and starts nothing', async () => {
    const extra = await post(JSON.stringify({ image: 'attacker/image:latest' }));
    expect(extra.status).toBe(400);
    expect(extra.json()).toMatchObject({ error: { code: 'invalid_body' } });
    expect(extra.text).toContain('image');
    const notJson = await post('{"unterminated');
    expect(notJson.status).toBe(400);
    expect(notJson.json()).toMatchObject({ error: { code: 'invalid_json' } });
    const huge = await post(JSON.stringify({ pad: 'x'.repeat(4096) }));
    expect(huge.status).toBe(413);
    expect((await t.admin('GET', '/admin/rollout')).json()).toMatchObject({ rollout: null });
  });

  it('says when every instance runs the image already, and limits how often it is asked', async () => {
    const answers: number[] = [];
    let last = await post();
    expect(last.json()).toMatchObject({ error: { code: 'up_to_date' } });
    answers.push(last.status);
    for (let i = 0; i < 8; i++) {
      last = await post('{}');
      answers.push(last.status);
    }
    // The three bad bodies above were refused before the limiter; these nine count: six pass it.
    expect(answers).toEqual([409, 409, 409, 409, 409, 409, 429, 429, 429]);
    expect(last.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    expect((await t.admin('GET', '/admin/rollout')).json()).toMatchObject({ rollout: null });
  });
});
