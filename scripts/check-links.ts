/**
 * @module Checks every link of a built site, offline: a page or file it points to exists, an
 * `#anchor` names an element of that page, and a link to this repository on GitHub names a file or
 * folder that exists here. Other external links are only checked for form (no network).
 *
 *   node scripts/check-links.ts docs/.vitepress/dist [--base /plumb/]
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');

export interface BrokenLink {
  page: string;
  href: string;
  reason: string;
}

/** This repository's GitHub address, from package.json (`https://github.com/owner/repo`). */
async function repositoryUrl(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  return String(manifest.repository.url).replace(/\.git$/, '');
}

const ids = new Map<string, Set<string>>();
async function idsOf(file: string): Promise<Set<string>> {
  let found = ids.get(file);
  if (!found) {
    const html = await readFile(file, 'utf8');
    found = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map(([, id]) => id ?? ''));
    ids.set(file, found);
  }
  return found;
}

/** The file a site path serves, the way a static host does (`/a/` → a/index.html, `/a` → a.html). */
function fileFor(site: string, path: string): string | undefined {
  const plain = join(site, decodeURIComponent(path));
  const candidates = path.endsWith('/')
    ? [join(plain, 'index.html')]
    : [plain, `${plain}.html`, join(plain, 'index.html')];
  return candidates.find((candidate) => existsSync(candidate) && !candidate.endsWith('/'));
}

export async function checkLinks(
  site: string,
  options: { base?: string } = {},
): Promise<{
  pages: number;
  links: number;
  broken: BrokenLink[];
}> {
  const base = options.base ?? '/';
  const repository = await repositoryUrl();
  const entries = await readdir(site, { recursive: true, withFileTypes: true });
  const pages = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.html'))
    .map((entry) => join(entry.parentPath, entry.name));
  const broken: BrokenLink[] = [];
  let links = 0;
  for (const page of pages) {
    const html = await readFile(page, 'utf8');
    // Where the host serves this page: under the site's base.
    const pagePath = `${base}${relative(site, page).replaceAll('\\', '/')}`;
    for (const [, attribute, raw = ''] of html.matchAll(/\s(href|src)="([^"]*)"/g)) {
      const href = raw.replaceAll('&amp;', '&');
      if (attribute === 'href' && href.startsWith('#') && href.length === 1) continue;
      links++;
      const fail = (reason: string) => broken.push({ page: relative(site, page), href, reason });
      if (/^(mailto|data|javascript):/i.test(href)) continue;
      if (/^https?:\/\//i.test(href)) {
        let url: URL;
        try {
          url = new URL(href);
        } catch {
          fail('not a valid URL');
          continue;
        }
        const inRepo = new RegExp(
          `^${repository.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(blob|tree)/[^/]+/(.+)$`,
        ).exec(`${url.origin}${url.pathname}`);
        if (inRepo && !existsSync(join(root, decodeURIComponent(inRepo[2] ?? '')))) {
          fail(`no ${inRepo[2]} in this repository`);
        }
        continue;
      }
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) {
        fail('unexpected scheme');
        continue;
      }
      const [pathPart = '', hash] = href.split('#');
      const absolute = pathPart === '' ? pagePath : new URL(pathPart, `http://site${pagePath}`).pathname;
      if (!absolute.startsWith(base)) {
        fail(`outside the site's base ${base}`);
        continue;
      }
      const target = fileFor(site, `/${absolute.slice(base.length)}`);
      if (!target) {
        fail('no such page or file');
        continue;
      }
      if (hash && target.endsWith('.html') && !(await idsOf(target)).has(decodeURIComponent(hash))) {
        fail(`no #${hash} on ${relative(site, target)}`);
      }
    }
  }
  return { pages: pages.length, links, broken };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { base: { type: 'string', default: process.env.DOCS_BASE ?? '/' } },
  });
  const site = positionals[0];
  if (!site || !existsSync(site)) {
    console.error(
      'usage: node scripts/check-links.ts <built site folder> [--base /path/]   (build it first: npm run docs:build)',
    );
    process.exit(2);
  }
  const { pages, links, broken } = await checkLinks(resolve(site), { base: values.base });
  for (const { page, href, reason } of broken) console.error(`${page}: ${href} — ${reason}`);
  console.log(`checked ${links} links on ${pages} pages: ${broken.length} broken`);
  process.exit(broken.length ? 1 : 0);
}
