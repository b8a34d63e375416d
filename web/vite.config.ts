/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// The console is built into ../internal/console/dist, which the Go binary
// embeds. The output must be byte-for-byte reproducible from the lockfile
// (scripts/test rebuilds it and compares): no source maps, no timestamps,
// content-hashed file names only.
//
// `npm run dev` serves the source with hot reload and forwards the X-Ray API
// (POST /<Operation>, capitalized paths) and /counterspy/ to a running
// server: COUNTERSPY_URL, default http://127.0.0.1:2000.
const target = process.env.COUNTERSPY_URL ?? 'http://127.0.0.1:2000';

export default defineConfig({
  base: '/',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: '../internal/console/dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      '^/[A-Z][A-Za-z]*$': { target },
      '/counterspy/': { target },
      '/healthz': { target },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
