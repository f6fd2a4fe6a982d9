import { defineConfig } from 'vitest/config';

// `npm run test:compose`: docker-compose.yml under a real Docker engine (minutes; not part of `npm test`).
export default defineConfig({
  test: {
    include: ['test/compose/**/*.compose.ts'],
    maxWorkers: 1,
    testTimeout: 300_000,
    hookTimeout: 900_000,
    reporters: ['default'],
  },
});
