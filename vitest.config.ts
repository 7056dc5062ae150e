import { availableParallelism } from 'node:os'
import { configDefaults, defineConfig } from 'vitest/config'

const TESTS = ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts']
/**
 * Tests that only compute in their own process: no sockets, no child processes, no timers to race. The seeded fuzz
 * suites, the packages below `core` that do no I/O but LevelDB's, the examples and the repository checks.
 */
const IN_PROCESS = [
  'packages/*/test/**/*fuzz*.test.ts',
  'packages/{anchor-bitcoin,anchor-merkle,codec,docid,doctype-account-link,doctype-schema,doctype-tile,interface,interface-tests,json,query,rules,storage-level}/test/**/*.test.ts',
  'examples/*/test/**/*.test.ts',
  'test/**/*.test.ts'
]

// One config for the whole monorepo: tests import the packages by name, so they run against the built `dist/`.
export default defineConfig({
  test: {
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
    },
    projects: [
      {
        // Each file in its own process as before, but one per core: they only compute, so they do not slow each other
        // down beyond sharing the CPU, and the other tests (daemons, sockets, child processes) never run beside them.
        // Vitest's default of one worker fewer than the cores leaves one of two cores idle.
        extends: true,
        test: { name: 'in-process', include: IN_PROCESS, maxWorkers: availableParallelism(), sequence: { groupOrder: 0 } }
      },
      {
        // Then the rest (daemons, sockets, browsers, child processes), also one file per core: none of them waits on
        // wall-clock time or shares a port, a directory or a database with another file (each takes port 0, its own
        // temp directory and its own PostgreSQL database), so two at once only share the CPU.
        extends: true,
        test: { name: 'tests', include: TESTS, exclude: [...configDefaults.exclude, ...IN_PROCESS], maxWorkers: availableParallelism(), sequence: { groupOrder: 1 } }
      }
    ]
  }
})
