import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../test/harness.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startGateway({ handle: 'alice' });
});
afterEach(() => gw.close());

describe('GET /', () => {
  it('is a public HTML page naming the instance and its state, with no secret on it', async () => {
    const res = await fetch(`${gw.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await res.text();
    expect(html).toContain('<title>alice · Matrix OS</title>');
    expect(html).toContain('Running');
    expect(html).not.toContain(gw.token);
    expect(html).not.toContain(gw.home);
  });
});
