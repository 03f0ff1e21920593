/**
 * `npm run docs:api`: writes the route tables of `docs/api.md` from the services' OpenAPI
 * documents (the ones `/openapi.json` serves), between markers such as
 * `<!-- routes: platform admin -->` … `<!-- /routes -->`; the prose around them is kept as written.
 * `packages/platform/test/apiDoc.test.ts` fails when the file is not what this would write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gatewayOpenApi } from '../packages/gateway/src/contract/openapi.ts';
import { platformOpenApi } from '../packages/platform/src/api/contract/openapi.ts';
import { proxyOpenApi } from '../packages/proxy/src/openapi.ts';

export const API_DOC = fileURLToPath(new URL('../docs/api.md', import.meta.url));

interface Operation {
  tags?: string[];
  summary?: string;
  responses?: Record<string, { description?: string }>;
}
type Document = { paths?: Record<string, Record<string, Operation>> };

const DOCUMENTS: Record<string, () => Document> = {
  platform: platformOpenApi as () => Document,
  gateway: gatewayOpenApi as () => Document,
  proxy: () => proxyOpenApi() as Document,
};
const METHODS = ['get', 'head', 'post', 'put', 'delete'];
const BLOCK = /(<!-- routes: (\w+) ([\w-]+) -->\n)[\s\S]*?(<!-- \/routes -->)/g;
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/**
 * The table of one tag's operations, in the document's order. Answers every row shares (the
 * section's `401`, `403 bad_origin`, `429`, ...) are said once, under the table.
 */
export function routeTable(doc: Document, tag: string): string {
  const rows: { route: string; summary: string; answers: string[] }[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = ops[method];
      if (!op?.tags?.includes(tag)) continue;
      rows.push({
        route: `${method.toUpperCase()} ${path}`,
        summary: op.summary ?? '',
        answers: Object.entries(op.responses ?? {}).map(([status, r]) =>
          `\`${status}\` ${r.description ?? ''}`.trim(),
        ),
      });
    }
  }
  if (rows.length === 0)
    throw new Error(`docs/api.md asks for the routes tagged "${tag}", and there are none`);
  const shared =
    rows.length < 2 ? [] : rows[0]!.answers.filter((a) => rows.every((r) => r.answers.includes(a)));
  const cells = [
    ['method and path', 'does', 'answers'],
    ...rows.map((r) => [
      `\`${r.route}\``,
      cell(r.summary),
      cell(r.answers.filter((a) => !shared.includes(a)).join('; ')),
    ]),
  ];
  const lines = alignTable(cells);
  if (shared.length > 0) lines.push('', `Each of these may also answer: ${shared.join('; ')}.`);
  return `${lines.join('\n')}\n`;
}

/** A markdown table padded as the formatter (Biome) writes it: every column as wide as its widest cell. */
function alignTable(cells: string[][]): string[] {
  const widths = cells[0]!.map((_, i) => Math.max(3, ...cells.map((row) => [...row[i]!].length)));
  const line = (row: string[]) =>
    `| ${row.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join(' | ')} |`;
  return [
    line(cells[0]!),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...cells.slice(1).map(line),
  ];
}

/** `docs/api.md` with every marked table written anew. */
export function renderApiDoc(current: string): string {
  const docs = new Map<string, Document>();
  return current.replace(BLOCK, (_all, open: string, service: string, tag: string, close: string) => {
    const make = DOCUMENTS[service];
    if (!make) throw new Error(`docs/api.md names an unknown service "${service}"`);
    if (!docs.has(service)) docs.set(service, make());
    return `${open}${routeTable(docs.get(service)!, tag)}${close}`;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const current = readFileSync(API_DOC, 'utf8');
  const next = renderApiDoc(current);
  writeFileSync(API_DOC, next);
  console.log(next === current ? 'docs/api.md is up to date' : 'docs/api.md written');
}
