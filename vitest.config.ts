import { defineConfig } from 'vitest/config'

// One config for the whole monorepo: tests import the packages by name, so they run against the built `dist/`.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    server: {
      deps: {
        // The packages' built `dist/` is plain JavaScript: Node loads it as a user's program would, rather than Vite
        // transforming and running every module of it again in each test file (about half of each file's start-up).
        // Not the CLI's: packages/cli/test/node-assembly.test.ts mocks `@kiln/core` as the CLI imports it, and
        // `vi.mock` reaches only the imports of modules Vite runs.
        external: [/\/(packages|examples)\/(?!cli\/)[^/]+\/dist\//]
      }
    }
  }
})
