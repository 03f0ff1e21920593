import { describe, expect, it } from 'vitest';
import { resolveTarget } from './resolveTarget.ts';

describe('resolveTarget', () => {
  it('routes {handle}.{domain} with or without a port, any case', () => {
    expect(resolveTarget('alice.localhost:9000', '/files/a?x=1', 'localhost')).toEqual({
      handle: 'alice',
      url: '/files/a?x=1',
      prefix: '',
    });
    expect(resolveTarget('Alice.Example.com', '/', 'example.com')).toEqual({
      handle: 'alice',
      url: '/',
      prefix: '',
    });
  });

  it('leaves the control plane and foreign hosts alone', () => {
    expect(resolveTarget('localhost:9000', '/health', 'localhost')).toBeNull();
    expect(resolveTarget('example.com', '/', 'example.com')).toBeNull();
    expect(resolveTarget('alice.evil.com', '/', 'example.com')).toBeNull();
  });

  it('refuses nested subdomains and invalid or reserved labels', () => {
    expect(resolveTarget('a.alice.localhost', '/', 'localhost')).toBeNull();
    expect(resolveTarget('app.localhost', '/', 'localhost')).toBeNull();
    expect(resolveTarget('xn--e1afmkfd.localhost', '/', 'localhost')).toBeNull();
  });

  it('does not take a suffix match for a subdomain (alicelocalhost)', () => {
    expect(resolveTarget('evillocalhost', '/', 'localhost')).toBeNull();
  });

  it('routes /proxy/{handle}/... and strips the prefix', () => {
    expect(resolveTarget('localhost:9000', '/proxy/bob/api/profile?x=1', 'localhost')).toEqual({
      handle: 'bob',
      url: '/api/profile?x=1',
      prefix: '/proxy/bob',
    });
    expect(resolveTarget('localhost:9000', '/proxy/bob/', 'localhost')).toEqual({
      handle: 'bob',
      url: '/',
      prefix: '/proxy/bob',
    });
  });

  it('sends /proxy/{handle} without its slash to the slashed form, keeping the query', () => {
    expect(resolveTarget('localhost:9000', '/proxy/bob', 'localhost')).toEqual({
      handle: 'bob',
      url: '/',
      prefix: '/proxy/bob',
      redirect: '/proxy/bob/',
    });
    expect(resolveTarget('localhost:9000', '/proxy/bob?x=1', 'localhost')).toEqual({
      handle: 'bob',
      url: '/?x=1',
      prefix: '/proxy/bob',
      redirect: '/proxy/bob/?x=1',
    });
  });

  it('refuses path handles that are not handles', () => {
    expect(resolveTarget('localhost', '/proxy/../etc/passwd', 'localhost')).toBeNull();
    expect(resolveTarget('localhost', '/proxy/%2e%2e/x', 'localhost')).toBeNull();
    expect(resolveTarget('localhost', '/proxy/', 'localhost')).toBeNull();
  });
});
