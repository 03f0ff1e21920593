import { z } from 'zod';
import { APP_NAME_PATTERN, APP_NAME_RULE, type AppStore } from '../apps/store.ts';
import { defineTool, formatBytes, type ToolSpec } from './tool.ts';

/** create_app: one self-contained HTML page in `apps/<name>/`, which the shell opens in a window. */
export function appTool({ apps }: { apps: AppStore }): ToolSpec {
  return defineTool({
    name: 'create_app',
    description:
      'Create an app, or replace an existing one of the same name: a single self-contained HTML page ' +
      '(inline <style> and <script>, no external URLs) saved as apps/<name>/index.html. ' +
      "It appears in the owner's launcher and opens in a window of their desktop.",
    input: z.strictObject({
      name: z
        .string()
        .regex(APP_NAME_PATTERN, `must be ${APP_NAME_RULE}`)
        .describe('Folder and URL name, like todo or pomodoro-timer'),
      title: z.string().min(1).max(80).describe('The name people see in the launcher, like Todo list'),
      description: z.string().max(500).optional().describe('One sentence on what it does'),
      html: z.string().min(1).describe('The complete HTML document'),
    }),
    describe: (input) => input.name,
    async run(input) {
      const { app, created } = await apps.save(input);
      const size = formatBytes(Buffer.byteLength(input.html));
      return {
        content: `${created ? 'Created' : 'Updated'} the app "${app.title}" at apps/${app.name}/index.html (${size}). The owner can open it from the launcher.`,
        summary: `${created ? 'Created' : 'Updated'} app “${app.title}”`,
        app,
      };
    },
  });
}
