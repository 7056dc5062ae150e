import { defineConfig } from 'vitest/config'

// One config for the whole monorepo: tests import the packages by name, so they run against the built `dist/`.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks'
  }
})
