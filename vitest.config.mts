import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real processes; two cores, so two files at a time.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // Set but empty: the SDK and vswapctl in tests use no token and plaintext unless a test says otherwise,
    // even where a `npm start` in the repo left .vswap/admin.token and .vswap/tls/ca.pem behind.
    env: { VSWAP_TOKEN: '', VSWAP_CA: '', VSWAP_CLUSTER_TOKEN: '' },
  },
});
