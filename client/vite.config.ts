import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The dev server proxies /api to the server, as nginx does in the image: one origin for the browser.
const apiTarget = process.env.PLUMB_DEV_API_TARGET ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [preact()],
  server: {
    proxy: { '/api': { target: apiTarget, changeOrigin: false, xfwd: true } },
  },
  build: { target: 'es2022', sourcemap: false },
});
