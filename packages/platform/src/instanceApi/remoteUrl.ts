import { z } from 'zod';

/** A git remote the instance can clone: http(s) only (smart HTTP), credentials never inside it. */
export const remoteUrl = z
  .url({ protocol: /^https?$/ })
  .max(500)
  .refine((u) => {
    // Refinements run even after the URL check failed: a non-URL is not this one's to report.
    if (!URL.canParse(u)) return true;
    const parsed = new URL(u);
    return parsed.username === '' && parsed.password === '';
  }, 'must not carry credentials');
