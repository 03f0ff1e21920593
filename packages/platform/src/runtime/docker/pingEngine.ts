import type Docker from 'dockerode';

/**
 * Resolves when the engine answers a ping within `timeoutMs`, rejects otherwise (a missing
 * socket fails at once; a wedged engine would otherwise hang the caller).
 */
export async function pingEngine(docker: Docker, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([docker.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
