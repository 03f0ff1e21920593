/** The engine's HTTP status of a failed dockerode call (404 no such object, 409 conflict, ...). */
export function status(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Engine answers that mean "already so" (304 not modified, 404 gone, 409 not paused). */
export async function ignoreStatus(p: Promise<unknown>, ...codes: number[]): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!codes.includes(status(err) ?? 0)) throw err;
  }
}
