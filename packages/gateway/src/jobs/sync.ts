import type { z } from 'zod';

/** Remote sync of the jobs repo (see createRepoSync). */
export interface RepoSync {
  remoteSchema: z.ZodType<
    { url: string; username?: string | undefined; password?: string | undefined } | { url: null }
  >;
  remoteView(): Promise<{ url: string; hasCredentials: boolean } | null>;
  setRemote(input: {
    url: string | null;
    username?: string | undefined;
    password?: string | undefined;
  }): Promise<{
    url: string;
    hasCredentials: boolean;
  } | null>;
  sync(): Promise<unknown>;
}
