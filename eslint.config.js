import js from '@eslint/js'
import tseslint from 'typescript-eslint'

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
  }
)
