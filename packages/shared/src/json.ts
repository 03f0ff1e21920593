import type { Context } from 'hono';
import type { z } from 'zod';
import { HttpError } from './errors.ts';

/** A 400 that lists each problem zod found, by field. */
export function validationError(code: string, message: string, error: z.ZodError): HttpError {
  return new HttpError(400, code, message, {
    issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}

/** The request's JSON body checked against a schema; a 400 naming each problem otherwise. */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new HttpError(400, 'invalid_json', 'the request body must be a JSON object');
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw validationError('invalid_body', 'the request body is not valid', result.error);
  return result.data;
}
