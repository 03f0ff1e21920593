import { describe, expect, it } from 'vitest';
import { instancePassKey } from './instancePassKey.ts';
import { signInstancePass } from './signInstancePass.ts';
import { verifyInstancePass } from './verifyInstancePass.ts';

const ann = instancePassKey('mxi_ann-token-0000000000000000');
const cat = instancePassKey('mxi_cat-token-0000000000000000');
const pass = { host: 'ann.example.test', userId: 'u1', sessionId: 's1', role: 'user' as const };

describe('verifyInstancePass', () => {
  it('accepts a pass signed for this instance and host', async () => {
    const jwt = await signInstancePass(ann, pass);
    const check = await verifyInstancePass(jwt, { key: ann, host: 'ann.example.test' });
    expect(check).toMatchObject({ ok: true, claims: { sub: 'u1', sid: 's1', role: 'user' } });
  });

  it("refuses another instance's pass: each is signed with that instance's own key", async () => {
    const jwt = await signInstancePass(cat, { ...pass, host: 'ann.example.test' });
    expect(await verifyInstancePass(jwt, { key: ann, host: 'ann.example.test' })).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('refuses a pass for another host, even with the right key', async () => {
    const jwt = await signInstancePass(ann, { ...pass, host: 'cat.example.test' });
    expect((await verifyInstancePass(jwt, { key: ann, host: 'ann.example.test' })).ok).toBe(false);
  });

  it('tells an expired pass apart (the browser is sent to refresh it, not to sign in)', async () => {
    const jwt = await signInstancePass(ann, pass, Date.now() - 2 * 3_600_000);
    expect(await verifyInstancePass(jwt, { key: ann, host: 'ann.example.test' })).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('refuses a pass whose claims were changed, and an unsigned one (alg none)', async () => {
    const jwt = await signInstancePass(ann, pass);
    const [h, p, s] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    expect((await verifyInstancePass(`${h}.${forged}.${s}`, { key: ann, host: pass.host })).ok).toBe(false);
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect((await verifyInstancePass(`${none}.${p}.`, { key: ann, host: pass.host })).ok).toBe(false);
    expect((await verifyInstancePass('garbage', { key: ann, host: pass.host })).ok).toBe(false);
  });
});
