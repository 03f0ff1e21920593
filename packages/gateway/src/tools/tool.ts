import type { Tool } from '@anthropic-ai/sdk/resources/messages';
import { z } from 'zod';
import type { AppInfo } from '../apps/store.ts';

/** What a tool answers: `content` goes back to the model, `summary` to the owner's screen. */
export interface ToolResult {
  content: string;
  summary: string;
  /** Set by create_app, so the shell can open what was just made. */
  app?: AppInfo;
}

/** One tool the model may call: its input schema (zod, sent as JSON Schema) and its code. */
export interface ToolSpec<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: S;
  /** A few words about a call, shown while it runs ("notes/today.md"). */
  describe(input: z.infer<S>): string;
  run(input: z.infer<S>): Promise<ToolResult>;
}

export const defineTool = <S extends z.ZodType>(spec: ToolSpec<S>): ToolSpec => spec as unknown as ToolSpec;

/** The Messages API's `tools` entry for a spec. */
export function toolDefinition(spec: ToolSpec): Tool {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(spec.input) as Record<string, unknown>;
  return {
    name: spec.name,
    description: spec.description,
    input_schema: schema as Tool['input_schema'],
  };
}

/** `1.2 kB`, as people read sizes. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}
