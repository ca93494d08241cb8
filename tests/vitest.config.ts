import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import '../scripts/require-node.mjs';

/**
 * The heavier suites that are not part of `npm test`: they build and run the container images
 * (`npm run test:images`) or inject faults into the running stack (`npm run test:faults`). Same PostgreSQL setup as every other suite (db/src/test-global-setup.ts).
 */
export default defineConfig({
  test: {
    root: resolve(import.meta.dirname, '..'),
    globalSetup: ['./db/src/test-global-setup.ts'],
    projects: [
      {
        test: {
          name: 'images',
          include: ['tests/images/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 1_800_000,
        },
      },
      {
        test: {
          name: 'faults',
          include: ['tests/faults/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
    // One container suite at a time: they share the machine's two cores.
    fileParallelism: false,
  },
});
