import { gzipSync } from 'node:zlib';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

// The dev server proxies /api to the server, as nginx does in the image: one origin for the browser.
const apiTarget = process.env.PLUMB_DEV_API_TARGET ?? 'http://127.0.0.1:8080';

/** The page's weight budget (gzip): the build fails when it is over. */
export const BUDGET = { initialJsBytes: 20 * 1024, initialTotalBytes: 40 * 1024 };

function budget(): Plugin {
  return {
    name: 'plumb-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      const gz = (source: string | Uint8Array) => gzipSync(source, { level: 9 }).length;
      let js = 0;
      let total = 0;
      const seen = new Set<string>();
      const visit = (name: string) => {
        const chunk = bundle[name];
        if (!chunk || seen.has(name)) return;
        seen.add(name);
        if (chunk.type === 'chunk') {
          js += gz(chunk.code);
          for (const css of chunk.viteMetadata?.importedCss ?? []) visit(css);
          for (const imported of chunk.imports) visit(imported);
        } else {
          total += gz(chunk.source);
        }
      };
      for (const [name, chunk] of Object.entries(bundle))
        if (chunk.type === 'chunk' && chunk.isEntry) visit(name);
      for (const [name, asset] of Object.entries(bundle))
        if (name.endsWith('.html') && asset.type === 'asset') total += gz(asset.source);
      total += js;
      this.info(
        `initial JS ${js} B gzip (budget ${BUDGET.initialJsBytes}), initial total ${total} B gzip (budget ${BUDGET.initialTotalBytes})`,
      );
      if (js > BUDGET.initialJsBytes || total > BUDGET.initialTotalBytes) {
        this.error(`over the weight budget: initial JS ${js} B, total ${total} B gzip`);
      }
    },
  };
}

export default defineConfig({
  plugins: [preact(), budget()],
  server: {
    proxy: { '/api': { target: apiTarget, changeOrigin: false, xfwd: true } },
  },
  build: { target: 'es2022', sourcemap: false },
});
