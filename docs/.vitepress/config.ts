/**
 * The docs site: `npm run docs:build` (offline) → docs/.vitepress/dist, published to GitHub Pages by
 * .github/workflows/docs.yml. Pages link to the code with relative paths that work on GitHub; here
 * those links (anything outside docs/) become links to the file on GitHub.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { defineConfig } from 'vitepress';

const docs = resolve(import.meta.dirname, '..');
const root = resolve(docs, '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  repository: { url: string };
};
const repository = manifest.repository.url.replace(/\.git$/, '');

/** The ADRs, by number, with the titles their first lines give. */
const decisions = readdirSync(join(docs, 'decisions'))
  .filter((file) => /^\d{3}-.+\.md$/.test(file) && !file.startsWith('000-'))
  .sort()
  .map((file) => {
    const title = /^# (.+)$/m.exec(readFileSync(join(docs, 'decisions', file), 'utf8'))?.[1] ?? file;
    return { text: title, link: `/decisions/${file.replace(/\.md$/, '')}` };
  });

export default defineConfig({
  title: 'Plumb',
  description: 'A TypeScript web app as three container images that size themselves to the machine.',
  // GitHub Pages serves a project site under /<repo>/; the workflow passes it.
  base: process.env.DOCS_BASE ?? '/',
  lang: 'en',
  cleanUrls: false,
  lastUpdated: false,
  srcExclude: ['decisions/000-template.md'],
  themeConfig: {
    nav: [
      { text: 'Getting started', link: '/' },
      { text: 'Configuration', link: '/reference/configuration' },
      { text: 'API', link: '/api' },
      { text: `v${manifest.version}`, link: `${repository}/releases` },
    ],
    sidebar: [
      {
        text: 'Guide',
        items: [
          { text: 'Getting started', link: '/' },
          { text: 'Architecture', link: '/architecture' },
          { text: 'Deploy on Render', link: '/deploy-render' },
          { text: 'Deploy on one server', link: '/deploy-single-server' },
          { text: 'Sizing and vertical scaling', link: '/sizing' },
          { text: 'Operations', link: '/operations' },
          { text: 'Reliability', link: '/reliability' },
          { text: 'Performance', link: '/performance' },
        ],
      },
      {
        text: 'Reference',
        items: [
          { text: 'Configuration', link: '/reference/configuration' },
          { text: 'API', link: '/api' },
        ],
      },
      { text: 'Decisions', link: '/decisions/', items: decisions, collapsed: true },
    ],
    socialLinks: [{ icon: 'github', link: repository }],
    search: { provider: 'local' },
  },
  markdown: {
    config(md) {
      // Links from a page to a file outside docs/ (code, manifests, the README) go to GitHub.
      md.core.ruler.push('plumb-repository-links', (state) => {
        const page = state.env.relativePath as string | undefined;
        if (!page) return;
        for (const token of state.tokens) {
          for (const child of token.children ?? []) {
            if (child.type !== 'link_open') continue;
            const href = child.attrGet('href');
            if (!href || /^[a-z]+:|^#|^\//i.test(href)) continue;
            const [path = '', hash = ''] = href.split('#');
            const target = resolve(docs, posix.dirname(page), path);
            if (!relative(docs, target).startsWith('..')) continue;
            const kind = path.endsWith('/') ? 'tree' : 'blob';
            child.attrSet(
              'href',
              `${repository}/${kind}/main/${relative(root, target)}${hash ? `#${hash}` : ''}`,
            );
          }
        }
      });
    },
  },
});
