import { pino } from 'pino';

export type Logger = pino.Logger;

/** JSON lines on stdout; `LOG_LEVEL` picks the level (`silent` in tests). */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { name } });
}
