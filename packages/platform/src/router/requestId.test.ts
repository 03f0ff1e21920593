import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { requestIdOf } from './requestId.ts';

const req = (headers: http.IncomingHttpHeaders) => ({ headers }) as http.IncomingMessage;

describe('requestIdOf', () => {
  it.each([
    [{}, undefined],
    [{ 'x-request-id': '3f1c6e2a-9b7d-4c1e-8f0a-2d5b6c7e8f90' }, '3f1c6e2a-9b7d-4c1e-8f0a-2d5b6c7e8f90'],
    [{ 'x-request-id': 'edge:42.7' }, 'edge:42.7'],
    [{ 'x-request-id': '' }, undefined],
    [{ 'x-request-id': 'a b' }, undefined],
    [{ 'x-request-id': 'x\n{"level":60}' }, undefined],
    [{ 'x-request-id': 'a'.repeat(129) }, undefined],
  ])('%j → %s', (headers, expected) => {
    expect(requestIdOf(req(headers))).toBe(expected);
  });
});
