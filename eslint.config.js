import { readdirSync } from 'node:fs'
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/**
 * The dependency rule (ARCHITECTURE.md, docs/development.md): the `@kiln/*` packages each package's sources may import.
 * Tests (`test/`) are not covered: they may use more, through devDependencies.
 */
const BASE = ['interface', 'docid', 'codec']
const ALLOWED = {
  interface: [],
  docid: ['interface'],
  codec: ['interface', 'docid'],
  signing: [...BASE],
  json: [...BASE],
  // the query engine: pure, below core and the storage backends, which evaluate queries with it
  query: ['interface', 'docid'],
  // the transition-rule language and the rules doctype: pure like a doctype, below core, which asks it for verdicts
  rules: [...BASE, 'json'],
  'interface-tests': [...BASE, 'signing', 'json'],
  // the one place commits are applied: never a plugin or a front end
  core: [...BASE, 'signing', 'query', 'rules'],
  'anchor-merkle': [...BASE],
  'http-server': [...BASE, 'signing', 'json'],
  'http-client': [...BASE],
  // IndexedDB storage: storage-level's abstract-level core (`@kiln/storage-level/abstract`) on browser-level, so the
  // key layout, batches and queries are one implementation for both engines
  'storage-browser': [...BASE, 'storage-level'],
  // the browser bundle: a front end that assembles a node, like the CLI
  browser: [...BASE, 'signing', 'json', 'query', 'rules', 'core', 'doctype-tile', 'storage-browser', 'network-libp2p']
}

/** What a package whose name is not listed above may import: a plugin depends on the base packages only. */
function allowedFor (dir) {
  if (dir in ALLOWED) return ALLOWED[dir]
  // a doctype is pure: JSON rules from `json`, never another doctype; account-link checks Ethereum accounts' signatures
  // with the Ethereum helpers of `signing` (EIP-55, EIP-191, addresses of keys) that did:pkh uses too
  if (dir === 'doctype-account-link') return [...BASE, 'json', 'signing']
  if (dir.startsWith('doctype-')) return [...BASE, 'json']
  // the chain anchors share the Merkle batching; the mock chain signs its blocks with a DID
  if (dir.startsWith('anchor-')) return [...BASE, 'signing', 'anchor-merkle']
  return [...BASE, 'json', 'query']
}

/** One restriction: every `@kiln/*` module (subpaths too) except the allowed packages. */
function layering (where, allowed) {
  return {
    group: ['@kiln/*', ...allowed.map((name) => `!@kiln/${name}`)],
    message: `${where} may import only ${allowed.length === 0 ? 'no @kiln package' : allowed.map((name) => `@kiln/${name}`).join(', ')} (the dependency rule, docs/development.md).`
  }
}

const packageDirs = readdirSync(new URL('./packages/', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'cli')
  .map((entry) => entry.name)

/** The CLI loads these only in the commands that use them (`await import()`): `kiln --help` must stay light. */
const LAZY = ['ganache', 'ethers', '@kiln/anchor-ethereum', '@kiln/anchor-bitcoin', '@kiln/backup'].map((name) => ({
  name,
  allowTypeImports: true,
  message: `${name} is heavy: import it with \`await import('${name}')\` in the command that uses it, so that other commands do not load it.`
}))

/** The files of the CLI that assemble nodes: the only ones that may use `@kiln/core`. */
const CLI_ASSEMBLY = ['packages/cli/src/node-assembly.ts', 'packages/cli/src/offline-verify.ts']

const dependencyRule = [
  ...packageDirs.map((dir) => ({
    files: [`packages/${dir}/src/**/*.ts`],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [layering(`packages/${dir}`, allowedFor(dir))] }] }
  })),
  {
    // third-party doctypes follow the doctype rule
    files: ['examples/*/src/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [layering('an example doctype', [...BASE, 'json'])] }] }
  },
  {
    // the CLI picks the plugins, so it may import any package, but it talks to a node through the interface types
    files: ['packages/cli/src/**/*.ts'],
    ignores: CLI_ASSEMBLY,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [...LAZY, { name: '@kiln/core', message: 'Only the CLI files that assemble a node use @kiln/core; commands take the node through @kiln/interface\'s types.' }]
      }]
    }
  },
  {
    files: CLI_ASSEMBLY,
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: LAZY }] }
  }
]

// One flat config for every package.
export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'docs/api/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        Buffer: 'readonly', performance: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly',
        fetch: 'readonly'
      }
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', {
        selector: "NewExpression[callee.name='Error']",
        message: 'Throw a named KilnError subclass, not a bare Error.'
      }]
    }
  },
  {
    // The type checker already reports undefined names in TypeScript, with the real lib and @types/node.
    files: ['**/*.ts'],
    rules: { 'no-undef': 'off' }
  },
  {
    // Front ends take the node through @kiln/interface's KilnNodeApi, never core's class, and pick no plugins.
    files: ['packages/http-server/src/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['@kiln/core', '@kiln/doctype-*', '@kiln/anchor-*', '@kiln/storage-*', '@kiln/network-*'], message: 'The HTTP server takes the node through KilnNodeApi (@kiln/interface).' }]
      }]
    }
  },
  {
    files: ['**/test/**', 'bench/**', 'scripts/**'],
    rules: { 'no-restricted-syntax': 'off', '@typescript-eslint/no-non-null-assertion': 'off' }
  },
  ...dependencyRule
)
