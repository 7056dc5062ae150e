#!/usr/bin/env node
// Bundles the browser build of the node: `node packages/browser/build.mjs` writes dist/kiln.js (ESM, minified) from
// dist/index.js (so run `npx tsc -b` first). esbuild resolves with `platform: 'browser'`, so the `browser` conditions
// of the packages' package.json (`@kiln/signing`, `@kiln/codec`) pick their browser modules. The build fails when a
// Node built-in is left in the bundle: an import of one (esbuild cannot resolve `node:*` for the browser, and any
// other built-in it was told to leave out is refused here), or a bare use of Node's `Buffer` or `process` globals.
// The tests (test/browser.test.ts) and the bench (bench/browser.bench.mjs) call `bundle()` before they start.
import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const here = fileURLToPath(new URL('.', import.meta.url))
const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)])

/** Why a build is refused: a Node built-in left in the bundle. */
export class NodeBuiltinInBundleError extends Error {
  constructor (message) {
    super(message)
    this.name = 'NodeBuiltinInBundleError'
  }
}

/**
 * Bundles `entry` for the browser into `outfile` and checks that no Node built-in is left in it. `alias` maps module
 * names to files (the tests swap `vitest` for a page-side shim). Returns the output's path and size in bytes.
 */
export async function bundle ({ entry = `${here}dist/index.js`, outfile = `${here}dist/kiln.js`, alias = {}, minify = true } = {}) {
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    minify,
    sourcemap: false,
    metafile: true,
    alias,
    logLevel: 'silent',
    plugins: [leaveBuiltinsOut],
    // Some dependencies read `process.env.NODE_ENV` to pick a production build; nothing else of `process` is allowed.
    define: { 'process.env.NODE_ENV': '"production"' }
  })
  checkNoNodeBuiltins(result.metafile, outfile)
  await checkNoNodeGlobals({ entry, alias, outfile })
  const { bytes } = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]]
  return { outfile, bytes }
}

/**
 * Resolves each import named like a Node built-in as esbuild would for the browser: to what the importing package's
 * `browser` field maps it to (often an empty module), or to the npm package of that name (`buffer`, `events`: plain
 * JavaScript made for browsers). One esbuild cannot resolve so is marked external, and checkNoNodeBuiltins refuses it.
 */
const leaveBuiltinsOut = {
  name: 'leave-node-builtins-out',
  setup (build) {
    build.onResolve({ filter: /^[a-z_:/]+$/ }, async (args) => {
      if (!NODE_BUILTINS.has(args.path) || args.pluginData === INNER) return undefined
      const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: INNER })
      // An empty namespace is a module the importer's `browser` field disables (`"fs": false`): an empty module.
      if (resolved.errors.length === 0 && resolved.namespace === '') return { path: args.path, namespace: DISABLED }
      if (resolved.errors.length === 0) return resolved
      return { path: args.path, external: true }
    })
    build.onLoad({ filter: /.*/, namespace: DISABLED }, () => ({ contents: '', loader: 'js' }))
  }
}
const DISABLED = 'disabled-by-browser-field'
const INNER = Symbol('inner resolve')

/** Throws NodeBuiltinInBundleError when the bundle imports a Node built-in or uses `Buffer` / `process` unguarded. */
function checkNoNodeBuiltins (metafile, outfile) {
  const found = []
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    for (const imported of imports) {
      if (NODE_BUILTINS.has(imported.path) || imported.external === true) found.push(`${input} imports ${imported.path}`)
    }
  }
  for (const [output, { imports }] of Object.entries(metafile.outputs)) {
    for (const imported of imports) found.push(`${output} imports ${imported.path}`)
  }
  if (found.length > 0) {
    throw new NodeBuiltinInBundleError(`${outfile}: Node built-ins left in the browser bundle:\n  ${found.join('\n  ')}`)
  }
}

// Not `require`: esbuild turns the CommonJS dependencies' require() calls into imports, so none is left free.
const NODE_GLOBALS = ['Buffer', 'process', 'global', 'setImmediate', '__dirname', '__filename']
const MARK = '__kiln_node_global_'

/**
 * Uses of a Node global that the package guards by another test, each checked by reading its source: `pvtsutils`
 * (under libp2p's keychain) uses `Buffer` only where `btoa` / `atob` are missing, and every browser has them.
 */
const GUARDED_ELSEWHERE = new Set(['pvtsutils:Buffer'])

/** The npm package (or Kiln package) whose code is at `index` of an unminified bundle, from esbuild's `// path` comments. */
function moduleAt (text, index) {
  const comment = text.lastIndexOf('\n// ', index)
  const path = comment < 0 ? '' : text.slice(comment + 4, text.indexOf('\n', comment + 4))
  const match = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//) ?? path.match(/^\.\.\/([^/]+)\//)
  return match === null ? path : match[1]
}

/**
 * Builds the bundle again with every free use of a Node global renamed to a marker (esbuild's `define` renames only
 * globals, never local bindings), and throws NodeBuiltinInBundleError for each marker that is not behind a `typeof`
 * guard: `typeof process == "object" && process ? … : …` is how browser-ready packages probe for Node.
 */
async function checkNoNodeGlobals ({ entry, alias, outfile }) {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    alias,
    logLevel: 'silent',
    define: {
      'process.env.NODE_ENV': '"production"',
      ...Object.fromEntries(NODE_GLOBALS.map((name) => [name, `${MARK}${name}`]))
    }
  })
  const text = result.outputFiles[0].text
  const unguarded = []
  for (const match of text.matchAll(new RegExp(`${MARK}(\\w+)`, 'g'))) {
    const before = text.slice(Math.max(0, match.index - 160), match.index)
    if (GUARDED_ELSEWHERE.has(`${moduleAt(text, match.index)}:${match[1]}`)) continue
    if (!before.includes(`typeof ${match[0]}`) && !before.endsWith('typeof ')) {
      unguarded.push(`${match[1]}: …${text.slice(Math.max(0, match.index - 60), match.index + 40).replaceAll(MARK, '')}…`)
    }
  }
  if (unguarded.length > 0) {
    throw new NodeBuiltinInBundleError(`${outfile}: Node globals used without a typeof guard:\n  ${unguarded.join('\n  ')}`)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { outfile, bytes } = await bundle()
  console.log(`${outfile}: ${(bytes / 1024).toFixed(1)} KiB`)
}
