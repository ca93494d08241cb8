import { defineConfig } from 'vitest/config';
import './scripts/require-node.mjs';

/** One run, one PostgreSQL (db/src/test-global-setup.ts), every workspace's tests. */
export default defineConfig({
  test: {
    globalSetup: ['./db/src/test-global-setup.ts'],
    projects: [
      { test: { name: 'db', include: ['db/**/*.test.ts'], environment: 'node' } },
      { test: { name: 'server', include: ['server/**/*.test.ts'], environment: 'node' } },
      {
        extends: './client/vite.config.ts',
        test: {
          name: 'client',
          root: './client',
          include: ['src/**/*.test.{ts,tsx}'],
          environment: 'happy-dom',
        },
      },
      { test: { name: 'client-nginx', include: ['client/nginx/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'client-e2e',
          include: ['client/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      { test: { name: 'charts', include: ['charts/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'tooling',
          include: ['scripts/**/*.test.ts'],
          environment: 'node',
          // GitHub's workflow parser imports its JSON schema without an import attribute, which Node
          // refuses; Vite's transform accepts it.
          server: { deps: { inline: ['@actions/workflow-parser'] } },
        },
      },
    ],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
