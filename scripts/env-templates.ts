/**
 * @module Writes each deployable's `.env.template`, and the docs site's configuration reference,
 * from the zod env schemas (the env contract), so neither can list a variable the code does not
 * read or miss one it does. `npm run env:templates`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientContainerEnvSchema, clientEnvSchema } from '@plumb/client/env';
import { dbEnvSchema } from '@plumb/db/env';
import { emptyRefused } from '@plumb/db/env-contract';
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

export interface EnvVariable {
  name: string;
  description: string;
  /** Must be set: required and without a default. */
  required: boolean;
  default: string | undefined;
  choices: string[] | undefined;
}

/** The variables of one schema, in its order, as both the templates and the reference show them. */
export function describeEnv(schema: ZodType): EnvVariable[] {
  const json = toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Property>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    description: property.description ?? 'No description.',
    required: required.has(name) && property.default === undefined,
    default: property.default === undefined ? undefined : String(property.default),
    choices: property.enum?.map(String),
  }));
}

/** The text of one template: every variable with its comment, required ones left empty. */
export function renderEnvTemplate({ title, usage, source, schema }: Omit<EnvTemplate, 'path'>): string {
  const lines = [
    `# Environment of ${title}.`,
    `# Generated from ${source} by 'npm run env:templates': edit the schema, not this file.`,
    `# ${usage}`,
  ];
  for (const variable of describeEnv(schema)) {
    lines.push('');
    const choices = variable.choices ? ` One of: ${variable.choices.join(', ')}.` : '';
    lines.push(`# ${variable.description}${choices}`);
    if (variable.required) lines.push('# Required.', `${variable.name}=`);
    else lines.push(`# ${variable.name}=${variable.default ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The docs site's configuration reference: one table per deployable. */
export function renderConfigurationReference(): string {
  // Markdown table cells that are also safe inside the docs site (no stray HTML tags).
  const cell = (text: string) =>
    text.replaceAll('|', '\\|').replaceAll('\n', ' ').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  const sections = [
    ...envTemplates.map(({ title, source, schema }) => ({ title, source, schema })),
    {
      title: 'the client container itself (read by its entrypoint, never sent to the browser)',
      source: 'client/src/env.ts',
      schema: clientContainerEnvSchema as unknown as ZodType,
    },
  ];
  const refusingEmpty = [serverEnvSchema, dbEnvSchema]
    .flatMap((schema) => emptyRefused(schema))
    .map((name) => `\`${name}\``)
    .join(' and ');
  const lines = [
    '<!-- Generated from the env schemas by `npm run env:templates`: edit the schemas, not this file. -->',
    '',
    '# Configuration reference',
    '',
    'Every deployable reads its environment in one place, validated by a zod schema, and refuses to',
    'start naming every bad variable (exit code 78). These tables are generated from those schemas;',
    'the `.env.template` files beside each package are too.',
    '',
    "A variable set to the empty string (or only spaces) counts as unset, as in a shell's `${NAME:-default}`: its",
    `default applies, and a required one is refused as empty. The exceptions are ${refusingEmpty}: an`,
    'empty one is refused, since unset each switches a protection off.',
  ];
  for (const { title, source, schema } of sections) {
    lines.push('', `## ${title[0]?.toUpperCase()}${title.slice(1)}`, '', `Schema: \`${source}\`.`, '');
    lines.push('| variable | default | what it does |', '| --- | --- | --- |');
    for (const variable of describeEnv(schema)) {
      const value = variable.required
        ? '**required**'
        : variable.default
          ? `\`${variable.default}\``
          : '(unset)';
      const choices = variable.choices
        ? ` One of: ${variable.choices.map((c) => `\`${c}\``).join(', ')}.`
        : '';
      lines.push(`| \`${variable.name}\` | ${cell(value)} | ${cell(variable.description + choices)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The client image's allow-list of public keys, read by its entrypoint (DESIGN contract 3). */
export function renderPublicKeys(): string {
  const keys = describeEnv(clientEnvSchema as unknown as ZodType).map((variable) => variable.name);
  return [
    '# The CLIENT_* settings the client image may publish in /env-config.js: generated from',
    "# client/src/env.ts by 'npm run env:templates'. Others are not published (the entrypoint says so).",
    ...keys,
    '',
  ].join('\n');
}

const generated = (): [string, string][] => [
  ...envTemplates.map((template): [string, string] => [template.path, renderEnvTemplate(template)]),
  ['docs/reference/configuration.md', renderConfigurationReference()],
  ['client/nginx/public-env.keys', renderPublicKeys()],
];

/** Writes the templates and the reference (or, with `check`, lists the ones that differ from disk). */
export async function writeEnvTemplates({ check = false } = {}): Promise<string[]> {
  const stale: string[] = [];
  for (const [path, text] of generated()) {
    const file = `${root}${path}`;
    const current = await readFile(file, 'utf8').catch(() => '');
    if (current === text) continue;
    stale.push(path);
    if (!check) {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, text);
    }
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
