import { join } from 'node:path';

/**
 * Instance-private state inside the home (the generated token, the template record).
 * `/files` never serves or changes anything under it.
 */
export const PRIVATE_DIR = '.matrixos';

export const homePaths = (home: string) => ({
  privateDir: join(home, PRIVATE_DIR),
  tokenFile: join(home, PRIVATE_DIR, 'auth-token'),
  templateRecord: join(home, PRIVATE_DIR, 'template.json'),
  profile: join(home, 'system', 'profile.md'),
  aiProfile: join(home, 'system', 'ai-profile.md'),
  systemConfig: join(home, 'system', 'config.json'),
  memory: join(home, 'system', 'memory.md'),
  conversations: join(home, 'data', 'conversations'),
  sessions: join(home, PRIVATE_DIR, 'sessions.json'),
  ownKey: join(home, PRIVATE_DIR, 'anthropic-key.json'),
  apps: join(home, 'apps'),
  inbox: join(home, 'data', 'inbox.jsonl'),
});
