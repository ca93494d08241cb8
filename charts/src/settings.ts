/**
 * @module `deployment.json` at the repository root: what `npm run synth` renders `k8s/` and
 * `render.yaml` for — the machine size, the Render profile, the host and the rest. It is committed
 * beside what it renders, so the size a team chose survives the next `npm run synth` and CI's
 * `npm run synth -- --check` checks against it. Each of synth's flags is saved in it under its own
 * name; the file can also be edited by hand.
 */
import { z } from 'zod';
import { RENDER_PROFILES, type RenderProfile } from '#src/render.ts';
import { type Machine, PlanError, PROFILES, type ProfileName, parseMachine } from '#src/sizing.ts';

/** The file's name, at the repository root. */
export const SETTINGS_FILE = 'deployment.json';

const name = z.string().trim().min(1, 'must not be empty');
const settingsSchema = z
  .strictObject({
    '//': z.string().optional(),
    profile: z.enum(Object.keys(PROFILES) as [ProfileName, ...ProfileName[]]).optional(),
    cpu: z.number().positive().optional(),
    memory: z
      .string()
      .regex(/^\d+(?:\.\d+)?(Mi|Gi|Ti)$/, 'must be a size such as 32Gi or 512Mi')
      .optional(),
    'external-database': z.boolean().optional(),
    'db-max-connections': z.number().int().min(1).optional(),
    host: name.optional(),
    'tls-secret': name.optional(),
    'cert-issuer': name.optional(),
    'image-pull-secret': name.optional(),
    backups: z.boolean().optional(),
    'render-profile': z.enum(Object.keys(RENDER_PROFILES) as [RenderProfile, ...RenderProfile[]]).optional(),
    'render-region': name.optional(),
    'render-registry-credential': name.optional(),
  })
  .superRefine((settings, context) => {
    const problem = (path: string, message: string) =>
      context.addIssue({ code: 'custom', path: [path], message });
    if ((settings.cpu === undefined) !== (settings.memory === undefined)) {
      problem(
        settings.cpu === undefined ? 'cpu' : 'memory',
        'cpu and memory go together (--cpu 8 --memory 32Gi)',
      );
    }
    if (settings.profile && settings.cpu !== undefined) {
      problem('profile', 'a profile or a cpu and memory, not both');
    }
    if (settings['db-max-connections'] !== undefined && !settings['external-database']) {
      problem(
        'db-max-connections',
        "is the cap of an external database (with external-database): the bundled PostgreSQL's follows from the plan",
      );
    }
  });

/** The contents of `deployment.json`: synth's flags by name, and a `//` comment. */
export type Settings = z.infer<typeof settingsSchema>;

/** A `deployment.json` that cannot be used, or flags that would make one; the message names each field. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Checks settings (a parsed file, or the file with flags applied), naming every bad field. */
export function checkSettings(value: unknown, source = SETTINGS_FILE): Settings {
  const result = settingsSchema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '');
    return `  ${key}: ${issue.code === 'unrecognized_keys' ? 'is not a setting synth knows' : issue.message}`;
  });
  throw new SettingsError(`${source}:\n${lines.join('\n')}`);
}

/** Synth's flags as `node:util` parseArgs reads them; the same names as the settings. */
export const SETTINGS_FLAGS = {
  profile: { type: 'string' },
  cpu: { type: 'string' },
  memory: { type: 'string' },
  'external-database': { type: 'boolean' },
  'db-max-connections': { type: 'string' },
  host: { type: 'string' },
  'tls-secret': { type: 'string' },
  'cert-issuer': { type: 'string' },
  'image-pull-secret': { type: 'string' },
  backups: { type: 'boolean' },
  'render-profile': { type: 'string' },
  'render-region': { type: 'string' },
  'render-registry-credential': { type: 'string' },
} as const;
export type SettingsFlags = Partial<Record<keyof typeof SETTINGS_FLAGS, string | boolean>>;

const NUMBERS = new Set(['cpu', 'db-max-connections']);

/**
 * The settings (as read from the file, checked or not) with `flags` applied: a flag sets its setting
 * (`--no-backups` sets `backups` false), an empty value removes it (`--host ''`), a size replaces
 * the other kind of size (`--profile` drops `cpu`/`memory`, `--cpu`/`--memory` drop `profile`), and
 * `--no-external-database` drops the external database's `db-max-connections`. Checked as a whole,
 * so flags can also mend a file that does not pass on its own.
 *
 * @example
 * withFlags({ profile: 'small' }, { cpu: '8', memory: '32Gi' }); // { cpu: 8, memory: '32Gi' }
 */
export function withFlags(settings: Record<string, unknown>, flags: SettingsFlags): Settings {
  const next: Record<string, unknown> = { ...settings };
  if (flags.profile !== undefined) {
    delete next.cpu;
    delete next.memory;
  }
  if (flags.cpu !== undefined || flags.memory !== undefined) delete next.profile;
  if (flags['external-database'] === false && flags['db-max-connections'] === undefined) {
    delete next['db-max-connections'];
  }
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    if (value === '') delete next[key];
    else next[key] = NUMBERS.has(key) && typeof value === 'string' ? flagNumber(key, value) : value;
  }
  return checkSettings(
    next,
    Object.keys(flags).length > 0 ? 'the flags with deployment.json' : SETTINGS_FILE,
  );
}

/**
 * What changed from `before` to `after`, for a person: `render-profile medium, profile removed`
 * (what a flag removed on its way, such as `--cpu` the profile, too).
 */
export function describeChange(before: Record<string, unknown>, after: Settings): string {
  const keys = new Set([...Object.keys(after), ...Object.keys(before)].filter((key) => key !== '//'));
  return [...keys]
    .flatMap((key) => {
      const value = (after as Record<string, unknown>)[key];
      if (value === undefined) return key in before ? [`${key} removed`] : [];
      return value === before[key] ? [] : [`${key} ${String(value)}`];
    })
    .join(', ');
}

const flagNumber = (key: string, value: string) => {
  const number = Number(value);
  if (!Number.isFinite(number)) throw new SettingsError(`--${key} must be a number (got ${value})`);
  return number;
};

/** What the settings decide of synth's options (the rest comes from package.json). */
export interface SettingsOptions {
  machine: Machine;
  profile: ProfileName | 'custom';
  externalDatabase: boolean;
  databaseMaxConnections: number | undefined;
  host: string | undefined;
  tlsSecret: string | undefined;
  certIssuer: string | undefined;
  imagePullSecret: string | undefined;
  backups: boolean;
  renderProfile: RenderProfile;
  renderRegion: string | undefined;
  renderRegistryCredential: string | undefined;
}

/** Settings as synth's options; what a setting leaves out is the small profile and its defaults. */
export function optionsOf(settings: Settings): SettingsOptions {
  let machine: Machine = PROFILES.small;
  let profile: ProfileName | 'custom' = settings.profile ?? 'small';
  if (settings.cpu !== undefined && settings.memory !== undefined) {
    try {
      machine = parseMachine(String(settings.cpu), settings.memory);
    } catch (error) {
      throw error instanceof PlanError ? new SettingsError(error.message) : error;
    }
    profile = 'custom';
  } else {
    machine = PROFILES[profile as ProfileName];
  }
  return {
    machine,
    profile,
    externalDatabase: settings['external-database'] ?? false,
    databaseMaxConnections: settings['db-max-connections'],
    host: settings.host,
    tlsSecret: settings['tls-secret'],
    certIssuer: settings['cert-issuer'],
    imagePullSecret: settings['image-pull-secret'],
    backups: settings.backups ?? true,
    renderProfile: settings['render-profile'] ?? 'small',
    renderRegion: settings['render-region'],
    renderRegistryCredential: settings['render-registry-credential'],
  };
}
