/**
 * Runs at most one operation per key at a time, in arrival order; different keys run freely.
 * A failed operation does not block the ones queued behind it.
 */
export function createKeyedMutex() {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const prev = tails.get(key) ?? Promise.resolve();
      const result = prev.then(fn, fn);
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    /** Whether an operation on the key is running or queued. */
    busy(key: string): boolean {
      return tails.has(key);
    },
  };
}

export type KeyedMutex = ReturnType<typeof createKeyedMutex>;
