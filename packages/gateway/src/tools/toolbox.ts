import type { Tool } from '@anthropic-ai/sdk/resources/messages';
import { HttpError, type Logger } from '@matrixos/shared';
import type { AppStore } from '../apps/store.ts';
import type { EventBus } from '../events/bus.ts';
import { fsErrorToHttp } from '../files/fs-errors.ts';
import type { Jobs } from '../jobs/service.ts';
import type { Social } from '../social/social.ts';
import type { StorageGuard } from '../storage/guard.ts';
import { appTool } from './apps.ts';
import { fileTools } from './files.ts';
import { jobTools } from './jobs.ts';
import { type MatrixSend, matrixMessageTool } from './matrixMessage.ts';
import { memoryTool } from './memory.ts';
import { messageAiTool } from './messageAi.ts';
import { type ToolResult, type ToolSpec, toolDefinition } from './tool.ts';

export interface ToolOutcome extends ToolResult {
  /** false: `content` says what went wrong, and goes back to the model as an `is_error` result. */
  ok: boolean;
}

export interface Toolbox {
  /** The `tools` of every Messages API request. */
  definitions: Tool[];
  /** A few words about a call for the owner's screen, before it runs. */
  describe(name: string, input: unknown): string;
  /** Runs a call; never throws: every failure is an outcome the model can read and recover from. */
  run(name: string, input: unknown): Promise<ToolOutcome>;
}

/** The kernel's tools, all confined to the home. */
export function createToolbox(deps: {
  home: string;
  maxFileBytes: number;
  bus: EventBus;
  apps: AppStore;
  log: Logger;
  storage?: StorageGuard;
  /** The scheduler: save_job and list_jobs (absent: no job tools). */
  jobs?: Jobs;
  /** The platform's social API: message_ai (absent, or no platform: no such tool). */
  social?: Social;
  /** The Matrix channel: matrix_message (absent: no Matrix account, no such tool). */
  matrix?: MatrixSend;
}): Toolbox {
  const specs: ToolSpec[] = [...fileTools(deps), appTool(deps), memoryTool(deps)];
  if (deps.jobs) specs.push(...jobTools({ jobs: deps.jobs }));
  if (deps.social?.client) specs.push(messageAiTool({ social: deps.social }));
  if (deps.matrix) specs.push(matrixMessageTool({ matrix: deps.matrix }));
  const byName = new Map(specs.map((s) => [s.name, s]));

  return {
    definitions: specs.map(toolDefinition),
    describe(name, input) {
      const spec = byName.get(name);
      const parsed = spec?.input.safeParse(input);
      return parsed?.success ? spec!.describe(parsed.data) : '';
    },
    async run(name, input) {
      const spec = byName.get(name);
      if (!spec) return failure(`there is no tool named ${name}`, name);
      const parsed = spec.input.safeParse(input);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
        return failure(`invalid input for ${name}: ${problems.join('; ')}`, name);
      }
      try {
        return { ok: true, ...(await spec.run(parsed.data)) };
      } catch (err) {
        // A path the model made up (too long, a loop, a full disk) is its error to read, not a crash.
        const known = err instanceof HttpError ? err : fsErrorToHttp(err);
        if (known) return failure(known.message, name);
        deps.log.error({ err, tool: name }, 'tool failed');
        return failure(`${name} failed unexpectedly; the instance's log has the details`, name);
      }
    },
  };
}

function failure(message: string, name: string): ToolOutcome {
  return { ok: false, content: `Error: ${message}`, summary: `${name} failed: ${message}` };
}
