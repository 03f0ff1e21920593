import { describe, expect, it } from 'vitest';
import { allowInstanceCookie, filterResponseHeaders } from './filterResponseHeaders.ts';

describe('allowInstanceCookie', () => {
  it.each([
    ['theme=dark; Path=/', true],
    ['a=1', true],
    ['sid=x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60', true],
    ['mx_domainless=1; Path=/domain', true],
    ['mx_access=evil; Path=/', false],
    ['mx_refresh=evil', false],
    ['mx_pass=evil; Path=/', false],
    ['__Host-mx_access=evil; Secure; Path=/', false],
    ['__Secure-mx_refresh=evil; Secure', false],
    ['__host-MX_ACCESS=evil; Secure; Path=/', false],
    [' mx_access =evil', false],
    ['theme=dark; Domain=localhost', false],
    ['theme=dark; domain=.example.com; Path=/', false],
    ['theme=dark; Path=/;   DOMAIN = example.com', false],
  ])('%s → %s', (cookie, allowed) => {
    expect(allowInstanceCookie(cookie)).toBe(allowed);
  });
});

describe('filterResponseHeaders', () => {
  it('keeps harmless cookies on the instance host and drops the rest', () => {
    const h = filterResponseHeaders(
      {
        'set-cookie': ['a=1; Path=/', 'mx_access=x', 'b=2; Domain=localhost'],
        'clear-site-data': '"cookies"',
        'content-type': 'text/html',
      },
      'instance-host',
    );
    expect(h).toEqual({ 'set-cookie': ['a=1; Path=/'], 'content-type': 'text/html' });
  });

  it('removes the header when no cookie is left', () => {
    expect(filterResponseHeaders({ 'set-cookie': ['mx_refresh=x'] }, 'instance-host')).toEqual({});
  });

  it('serves nothing runnable and sets no cookie on the control-plane origin', () => {
    const h = filterResponseHeaders(
      {
        'set-cookie': ['a=1; Path=/'],
        'content-type': 'text/html',
        'content-security-policy': "script-src 'unsafe-inline'",
        'x-content-type-options': 'nope',
        refresh: '0; url=javascript:alert(1)',
      },
      'control-plane',
    );
    expect(h).toEqual({
      'content-type': 'text/html',
      'content-security-policy': 'sandbox',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    });
  });
});
