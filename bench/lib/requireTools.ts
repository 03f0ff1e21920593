import { execFileSync } from 'node:child_process';

/** Exits with a clear message when a command a benchmark runs is not installed: `[command, how to get it]`. */
export function requireTools(tools: readonly (readonly [string, string])[]): void {
  for (const [cmd, hint] of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      console.error(`bench: ${cmd} is missing (${hint})`);
      process.exit(1);
    }
  }
}
