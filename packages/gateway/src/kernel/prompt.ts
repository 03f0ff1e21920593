import { readFile } from 'node:fs/promises';
import type { AppInfo } from '../apps/store.ts';
import { homePaths } from '../home/layout.ts';
import { type Budget, budgetLine } from './budget.ts';

/** Each home file goes into every request: past this it is cut, and the model is told so. */
const FILE_LIMIT_CHARS = 12_000;

export interface PromptInputs {
  home: string;
  handle: string;
  /** Platform mode only: single-user instances have no platform budget. */
  budget: Budget | null;
  apps: AppInfo[];
  now: Date;
}

const INSTRUCTIONS = `You are the AI of Matrix OS, the personal AI operating system of @{handle}. You live in their own instance and talk with them through the chat panel of their desktop, the shell.

What you can do:
- Read, write and list files in the owner's home with read_file, write_file and list_directory. Paths are relative to the home (notes/today.md). Nothing outside the home can be reached, and .matrixos/ is private to the instance.
- Build apps with create_app: one self-contained HTML page (inline <style> and <script>, no external URLs or CDNs) saved as apps/<name>/index.html. It appears in the launcher and opens in a window. Calling create_app with an existing name replaces that app, so to change an app, read apps/<name>/index.html first and send the whole new page.
  Apps run in a sandboxed frame: no network, no cookies, no localStorage or sessionStorage (they throw), no alert, confirm or prompt. Keep state in memory and build any dialogs into the page. Make apps look good at any width, from a phone to a desktop window, and in light and dark mode (prefers-color-scheme).
- Keep notes with remember: what the owner asks you to remember, and lasting facts about them or their preferences. Notes go to system/memory.md, shown below in every conversation.

Be brief and concrete. Use Markdown sparingly. After building or changing something, say in a sentence or two what you did and how to open it.`;

/** The system prompt: who the AI is and serves, what it can do, and the home's `system/` files. */
export async function buildSystemPrompt({ home, handle, budget, apps, now }: PromptInputs): Promise<string> {
  const paths = homePaths(home);
  const [profile, aiProfile, memory] = await Promise.all([
    readSection(paths.profile, 'system/profile.md'),
    readSection(paths.aiProfile, 'system/ai-profile.md'),
    readSection(paths.memory, 'system/memory.md'),
  ]);
  const parts = [
    INSTRUCTIONS.replace('{handle}', handle),
    `Now: ${now.toUTCString()}.`,
    ...(budget
      ? [
          `${budgetLine(budget)}. Every message you send costs part of it: keep that in mind before long work.`,
        ]
      : []),
    `# The owner's public profile (system/profile.md)\n\n${profile}`,
    `# Your profile, as others see it (system/ai-profile.md)\n\n${aiProfile}`,
    `# Memory (system/memory.md)\n\n${memory}`,
    `# Apps in the launcher\n\n${
      apps.length
        ? apps.map((a) => `- ${a.name}: ${a.title}${a.description ? `. ${a.description}` : ''}`).join('\n')
        : '(none yet)'
    }`,
  ];
  return parts.join('\n\n');
}

async function readSection(file: string, name: string): Promise<string> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch {
    return `(${name} does not exist)`;
  }
  if (text === '') return `(${name} is empty)`;
  if (text.length <= FILE_LIMIT_CHARS) return text;
  return `${text.slice(0, FILE_LIMIT_CHARS)}\n\n[${name} is cut here: it is ${text.length} characters long]`;
}
