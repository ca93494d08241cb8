import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkSettings, optionsOf, SettingsError, withFlags } from '#src/settings.ts';
import { PROFILES } from '#src/sizing.ts';
import { root, runSynth } from '#src/synth.ts';

const GiB = 1024 ** 3;

describe('synth flags over deployment.json', () => {
  it('set what they name and keep the rest; a size replaces the other kind of size', () => {
    const saved = { profile: 'small', 'render-profile': 'medium', host: 'notes.example.com' } as const;
    expect(withFlags(saved, { cpu: '8', memory: '32Gi' })).toEqual({
      cpu: 8,
      memory: '32Gi',
      'render-profile': 'medium',
      host: 'notes.example.com',
    });
    expect(withFlags({ cpu: 8, memory: '32Gi' }, { profile: 'large' })).toEqual({ profile: 'large' });
    expect(withFlags(saved, { host: '', backups: false })).toEqual({
      profile: 'small',
      'render-profile': 'medium',
      backups: false,
    });
  });

  it('become the options synth renders: a custom machine, or a profile, with their defaults', () => {
    expect(optionsOf({ cpu: 8, memory: '32Gi' })).toMatchObject({
      machine: { cpu: 8, memoryBytes: 32 * GiB },
      profile: 'custom',
      renderProfile: 'small',
      backups: true,
      externalDatabase: false,
    });
    expect(optionsOf({})).toMatchObject({ machine: PROFILES.small, profile: 'small' });
  });

  it.each([
    [{ 'db-max-connections': '200' }, 'db-max-connections: is the cap of an external database'],
    [{ cpu: '8' }, 'memory: cpu and memory go together'],
    [{ memory: '32GB', cpu: '8' }, 'memory: must be a size such as 32Gi'],
    [{ profile: 'huge' }, 'profile: Invalid option'],
    [{ 'render-profile': 'pro' }, 'render-profile: Invalid option'],
    [{ cpu: 'eight', memory: '32Gi' }, '--cpu must be a number (got eight)'],
    [{ host: '  ' }, 'host: must not be empty'],
  ])('refuse %j, naming the setting', (flags, message) => {
    expect(() => withFlags({}, flags)).toThrow(SettingsError);
    expect(() => withFlags({}, flags)).toThrow(message);
  });

  it('refuse a file with a setting synth does not know, or a profile beside a machine', () => {
    expect(() => checkSettings({ profile: 'small', replicas: 3 })).toThrow(
      /deployment\.json:\n {2}replicas: is not a setting synth knows/,
    );
    expect(() => checkSettings({ profile: 'small', cpu: 8, memory: '32Gi' })).toThrow(
      'profile: a profile or a cpu and memory, not both',
    );
  });
});

describe('npm run synth in a repository', () => {
  let dir: string;
  const lines: string[] = [];
  const say = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
  const synth = (...argv: string[]) => runSynth(argv, dir, say);
  const file = (path: string) => readFile(join(dir, path), 'utf8');
  const serverPlan = async () =>
    (parse(await file('render.yaml')) as { services: { name: string; plan: string }[] }).services.find(
      (service) => service.name.endsWith('-server'),
    )?.plan;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plumb-synth-'));
    await copyFile(join(root, 'package.json'), join(dir, 'package.json'));
    await copyFile(join(root, 'deployment.json'), join(dir, 'deployment.json'));
    lines.length = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps a size given once: a plain run and --check render it again', async () => {
    expect(await synth('--render-profile', 'medium', '--cpu', '8', '--memory', '32Gi')).toBe(0);
    expect(JSON.parse(await file('deployment.json'))).toMatchObject({
      cpu: 8,
      memory: '32Gi',
      'render-profile': 'medium',
    });
    expect(JSON.parse(await file('deployment.json'))).not.toHaveProperty('profile');
    const rendered = { render: await file('render.yaml'), server: await file('k8s/base/server.yaml') };
    expect(await serverPlan()).toBe('pro');
    expect(rendered.server).toContain('name: DB_MAX_CONNECTIONS');

    expect(await synth('--check')).toBe(0);
    expect(await synth()).toBe(0);
    expect(await file('render.yaml')).toBe(rendered.render);
    expect(await file('k8s/base/server.yaml')).toBe(rendered.server);
    expect(lines.at(-1)).toContain('k8s/ for custom');
    expect(lines.at(-3)).toMatch(
      /; saved in deployment\.json: cpu 8, memory 32Gi, render-profile medium, profile removed$/,
    );
  });

  it('turns settings off and removes them, and says so', async () => {
    expect(
      await synth('--external-database', '--db-max-connections', '200', '--host', 'notes.example.com'),
    ).toBe(0);
    expect(JSON.parse(await file('deployment.json'))).toMatchObject({
      'external-database': true,
      'db-max-connections': 200,
      host: 'notes.example.com',
    });
    // Off again: the external database's cap goes with it.
    expect(await synth('--no-external-database', '--no-backups', '--host', '')).toBe(0);
    expect(lines.at(-1)).toMatch(
      /saved in deployment\.json: external-database false, backups false, db-max-connections removed, host removed$/,
    );
    const settings = JSON.parse(await file('deployment.json'));
    expect(settings).toMatchObject({ 'external-database': false, backups: false });
    expect(settings).not.toHaveProperty('db-max-connections');
    expect(settings).not.toHaveProperty('host');
  });

  it('mends with flags a hand-edited deployment.json that does not pass on its own', async () => {
    await writeFile(join(dir, 'deployment.json'), '{ "profile": "small", "cpu": 8, "memory": "32Gi" }');
    expect(await synth('--check')).toBe(1);
    expect(lines.at(-1)).toContain('profile: a profile or a cpu and memory, not both');
    expect(await synth('--profile', 'large')).toBe(0);
    expect(JSON.parse(await file('deployment.json'))).toMatchObject({ profile: 'large' });
    expect(await synth('--check')).toBe(0);
  });

  it('--check fails when deployment.json changed and the files were not rendered again', async () => {
    expect(await synth('--check')).toBe(1); // nothing rendered yet
    expect(await synth()).toBe(0);
    expect(await synth('--check')).toBe(0);
    await writeFile(join(dir, 'deployment.json'), JSON.stringify({ 'render-profile': 'large' }));
    expect(await synth('--check')).toBe(1);
    expect(lines.at(-1)).toMatch(/differ from the model and deployment\.json: render\.yaml\./);
    expect(await synth('--check', '--render-profile', 'large')).toBe(1);
    expect(lines.at(-1)).toContain('--check takes no other flag');
  });

  it('writes nothing, and saves nothing, for flags it refuses', async () => {
    expect(await synth()).toBe(0);
    const before = { settings: await file('deployment.json'), render: await file('render.yaml') };
    expect(await synth('--render-profile', 'large', '--db-max-connections', '200')).toBe(1);
    expect(lines.at(-1)).toContain('db-max-connections: is the cap of an external database');
    expect(await synth('--cpu', '1', '--memory', '1Gi')).toBe(1);
    expect(lines.at(-1)).toMatch(/^synth: 1 CPU \/ 1 GiB is too small with the bundled PostgreSQL/);
    expect(await file('deployment.json')).toBe(before.settings);
    expect(await file('render.yaml')).toBe(before.render);
  });

  it('says which setting of a hand-edited deployment.json is wrong', async () => {
    await writeFile(join(dir, 'deployment.json'), '{ "profile": "small", "backup": false }');
    expect(await synth()).toBe(1);
    expect(lines.at(-1)).toBe('synth: deployment.json:\n  backup: is not a setting synth knows');
    await writeFile(join(dir, 'deployment.json'), '{ "profile": ');
    expect(await synth('--check')).toBe(1);
    expect(lines.at(-1)).toMatch(/^synth: deployment\.json is not JSON: /);
  });
});
