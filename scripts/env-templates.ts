/**
 * @module Writes each deployable's `.env.template` from its zod env schema (the env contract), so the
 * templates can never list a variable the code does not read. `npm run env:templates`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { clientEnvSchema } from '@plumb/client/env';
import { dbEnvSchema } from '@plumb/db/env';
import { serverEnvSchema } from '@plumb/server/env';
import { toJSONSchema, type ZodType } from 'zod';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface EnvTemplate {
  path: string;
  /** What the variables configure, and how a person uses the file. */
  title: string;
  usage: string;
  source: string;
  schema: ZodType;
}

const local =
  "Locally, copy the lines you need into .env at the repository root (git-ignored); 'npm start' reads it.";

export const envTemplates: readonly EnvTemplate[] = [
  {
    path: 'server/.env.template',
    title: 'the API server',
    usage: `${local}\n# Leave DATABASE_URL unset there and 'npm start' runs an embedded PostgreSQL.`,
    source: 'server/src/env.ts',
    schema: serverEnvSchema,
  },
  {
    path: 'db/.env.template',
    title: 'the migrate command and the migration job image',
    usage: local,
    source: 'db/src/env.ts',
    schema: dbEnvSchema,
  },
  {
    path: 'client/.env.template',
    title: "the client image's public runtime settings (written to /env-config.js at container start)",
    usage:
      'Set them on the client container; every value is public. In development, client/public/env-config.js applies.',
    source: 'client/src/env.ts',
    schema: clientEnvSchema as unknown as ZodType,
  },
];

type Property = { description?: string; default?: unknown; enum?: unknown[] };

/** The text of one template: every variable with its comment, required ones first and left empty. */
export function renderEnvTemplate({ title, usage, source, schema }: Omit<EnvTemplate, 'path'>): string {
  const json = toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Property>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  const lines = [
    `# Environment of ${title}.`,
    `# Generated from ${source} by 'npm run env:templates': edit the schema, not this file.`,
    `# ${usage}`,
  ];
  for (const [name, property] of Object.entries(json.properties ?? {})) {
    lines.push('');
    const choices = property.enum ? ` One of: ${property.enum.filter((v) => v !== '').join(', ')}.` : '';
    lines.push(`# ${property.description ?? 'No description.'}${choices}`);
    if (required.has(name) && property.default === undefined) {
      lines.push('# Required.', `${name}=`);
    } else {
      lines.push(`# ${name}=${property.default === undefined ? '' : String(property.default)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the templates (or, with `check`, lists the ones that differ from what is on disk). */
export async function writeEnvTemplates({ check = false } = {}): Promise<string[]> {
  const stale: string[] = [];
  for (const template of envTemplates) {
    const text = renderEnvTemplate(template);
    const file = `${root}${template.path}`;
    const current = await readFile(file, 'utf8').catch(() => '');
    if (current === text) continue;
    stale.push(template.path);
    if (!check) await writeFile(file, text);
  }
  return stale;
}

if (import.meta.main) {
  const check = process.argv.includes('--check');
  const stale = await writeEnvTemplates({ check });
  if (check && stale.length > 0) {
    process.stderr.write(`Stale: ${stale.join(', ')}. Run 'npm run env:templates'.\n`);
    process.exit(1);
  }
  process.stdout.write(stale.length === 0 ? 'env templates are current\n' : `wrote ${stale.join(', ')}\n`);
}
