/**
 * The docs site: it builds offline with VitePress (which also fails on a dead link between pages),
 * and every link of the built site checks out (scripts/check-links.ts); the checker itself finds
 * what it must.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLinks } from './check-links.ts';

const root = join(import.meta.dirname, '..');

describe('the docs site', () => {
  const out = join(tmpdir(), `plumb-docs-${process.pid}`);
  let built: { stdout: string };

  beforeAll(async () => {
    // Its own output folder, so a site being previewed is left alone; the base GitHub Pages uses.
    built = await promisify(execFile)('npx', ['vitepress', 'build', 'docs', '--outDir', out], {
      cwd: root,
      env: { ...process.env, DOCS_BASE: '/plumb/' },
      timeout: 120_000,
    });
  }, 150_000);
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('builds every guide, the reference and the decisions', async () => {
    expect(built.stdout).toMatch(/build complete/);
    const { pages } = await checkLinks(out, { base: '/plumb/' });
    expect(pages).toBeGreaterThanOrEqual(15);
  });

  it('has no broken link: pages, anchors, assets, and files of this repository on GitHub', async () => {
    const { links, broken } = await checkLinks(out, { base: '/plumb/' });
    expect(links).toBeGreaterThan(100);
    expect(broken).toEqual([]);
  });
});

describe('the link checker', () => {
  let site: string;
  beforeAll(async () => {
    site = await mkdtemp(join(tmpdir(), 'plumb-links-'));
    await mkdir(join(site, 'guide'));
    await writeFile(join(site, 'index.html'), '<h2 id="top">x</h2><a href="/guide/a.html#here">ok</a>');
    await writeFile(
      join(site, 'guide/a.html'),
      [
        '<p id="here">here</p>',
        '<a href="../index.html#top">ok</a>',
        '<a href="b.html">missing page</a>',
        '<a href="../index.html#nowhere">missing anchor</a>',
        '<img src="/missing.png">',
        '<a href="https://github.com/plumb-dev/plumb/blob/main/package.json">ok</a>',
        '<a href="https://github.com/plumb-dev/plumb/blob/main/no-such-file.md">missing file</a>',
        '<a href="https://example.com/elsewhere">not fetched</a>',
      ].join('\n'),
    );
  });
  afterAll(() => rm(site, { recursive: true, force: true }));

  it('reports a missing page, anchor, asset and repository file, and nothing else', async () => {
    const { broken } = await checkLinks(site);
    expect(broken.map(({ href, reason }) => `${href}: ${reason}`).sort()).toEqual([
      '../index.html#nowhere: no #nowhere on index.html',
      '/missing.png: no such page or file',
      'b.html: no such page or file',
      'https://github.com/plumb-dev/plumb/blob/main/no-such-file.md: no no-such-file.md in this repository',
    ]);
  });
});
