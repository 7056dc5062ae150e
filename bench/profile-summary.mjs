#!/usr/bin/env node
// Summarises V8 .cpuprofile files (as `--cpu-prof` writes them, e.g. with KILN_BENCH_PROF=1): the main thread's
// self time by package (core, codec, signing, storage, fastify, http-server, node, GC, ...) and the top functions.
// Built-ins without a script (JSON.parse, TypedArray methods) count for the nearest caller that has one.
//   node bench/profile-summary.mjs /tmp/prof-daemon/*.cpuprofile [--top 30] [--requests] [--only <package>]
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
const topAt = args.indexOf('--top')
const top = topAt === -1 ? 25 : Number(args[topAt + 1])
const requestsOnly = args.includes('--requests')
const onlyAt = args.indexOf('--only')
const only = onlyAt === -1 ? undefined : args[onlyAt + 1]
const files = args.filter((a, i) => !a.startsWith('--') && (topAt === -1 || i !== topAt + 1) && (onlyAt === -1 || i !== onlyAt + 1))

const KILN = /packages\/([^/]+)\/(?:dist|src)\//
const MODULE = /node_modules\/((?:@[^/]+\/)?[^/]+)\//
const LIBRARIES = new Set(['codec', 'docid', 'signing'])
const GROUPS = [
  ['storage/level', /^(storage-level|classic-level|abstract-level|level-transcoder|level-supports|module-error|maybe-combine-errors)$/],
  ['fastify', /^(fastify|@fastify\/.*|find-my-way|avvio|light-my-request|fast-json-stringify|ajv|fast-uri|secure-json-parse|pino|pino-std-serializers|sonic-boom|thread-stream|process-warning|abstract-logging|fast-querystring|fast-decode-uri-component|toad-cache|rfdc|safe-regex2|ret|content-type|json-schema-ref-resolver|proxy-addr|forwarded|ipaddr\.js|semver|fastq|reusify)$/],
  ['signing', /^(signing|@noble\/.*|@stablelib\/.*|dag-jose|did-jwt|key-did-resolver|uint8arrays)$/],
  ['codec', /^(codec|docid|multiformats|@ipld\/.*|cborg|cborg\/.*)$/]
]

/** The package a script URL belongs to: a Kiln package name, an npm package name, or `node`. */
function packageOf (url) {
  if (url === '') return undefined
  const kiln = KILN.exec(url)
  const mod = MODULE.exec(url)
  // The last node_modules segment wins (nested deps); a Kiln workspace package is linked under node_modules/@kiln.
  if (mod !== null && !mod[1].startsWith('@kiln/')) return mod[1]
  if (kiln !== null) return kiln[1]
  if (mod !== null) return mod[1].slice('@kiln/'.length)
  if (url.startsWith('node:') || !url.includes('/')) return 'node'
  return 'other'
}

function groupOf (pkg) {
  for (const [group, re] of GROUPS) if (re.test(pkg)) return group
  return pkg
}

function summarise (profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const pkgCache = new Map()
  const pkgOfNode = (id) => {
    if (pkgCache.has(id)) return pkgCache.get(id)
    const node = byId.get(id)
    const name = node.callFrame.functionName
    let pkg
    if (name === '(garbage collector)') pkg = 'GC'
    else if (name === '(idle)') pkg = '(idle)'
    else if (name === '(program)') pkg = '(program)'
    else if (name === '(root)') pkg = '(root)'
    else {
      // Node's own code and built-ins count for the package that called them (the HTTP parser stays `node`).
      const own = packageOf(node.callFrame.url)
      const caller = parent.has(id) ? pkgOfNode(parent.get(id)) : 'node'
      pkg = own !== undefined && own !== 'node' ? own : (caller === '(root)' ? 'node' : caller)
    }
    if (pkg === '(root)') pkg = 'node'
    pkgCache.set(id, pkg)
    return pkg
  }
  // With --requests, the window starts at the first sample inside Fastify's request handler: module loading and
  // startup before it are left out.
  const inRequest = (id) => {
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at).callFrame
      if (frame.functionName === 'handleRequest' && packageOf(frame.url) === 'fastify') return true
    }
    return false
  }
  const self = new Map()
  const { samples, timeDeltas } = profile
  let first = 0
  if (requestsOnly) while (first < samples.length && !inRequest(samples[first])) first++
  for (let i = first; i < samples.length; i++) {
    const dt = timeDeltas[i + 1] ?? 0
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt)
  }
  // The innermost Kiln package on the stack that is not a library: who asked for the work (codec called by core
  // counts for core here, codec called by a route for http-server).
  const driverCache = new Map()
  const driverOf = (id) => {
    if (driverCache.has(id)) return driverCache.get(id)
    const url = byId.get(id).callFrame.url
    const kiln = KILN.exec(url)
    const mod = MODULE.exec(url)
    let driver
    let own
    if (kiln !== null && (mod === null || mod[1].startsWith('@kiln/'))) own = kiln[1]
    else if (mod !== null && mod[1].startsWith('@kiln/')) own = mod[1].slice('@kiln/'.length)
    // Library packages (codec, ids, signing) count for the Kiln package that called them.
    if (own !== undefined && !LIBRARIES.has(own)) driver = own
    else if (own !== undefined && !parent.has(id)) driver = own
    else if (own !== undefined) { const up = driverOf(parent.get(id)); driver = up === 'none (node, fastify)' ? own : up }
    else driver = parent.has(id) ? driverOf(parent.get(id)) : 'none (node, fastify)'
    driverCache.set(id, driver)
    return driver
  }
  const drivers = new Map()
  const groups = new Map()
  const fns = new Map()
  let busy = 0
  for (const [id, us] of self) {
    const node = byId.get(id)
    const pkg = pkgOfNode(id)
    if (pkg === '(idle)') continue
    busy += us
    const group = groupOf(pkg)
    groups.set(group, (groups.get(group) ?? 0) + us)
    const driver = pkg === 'GC' || pkg === '(program)' ? pkg : driverOf(id)
    drivers.set(driver, (drivers.get(driver) ?? 0) + us)
    const key = `${node.callFrame.functionName || '(anonymous)'} ${pkg}${node.callFrame.url === '' ? '' : `:${node.callFrame.lineNumber + 1}`}`
    if (only === undefined || only === group || only === driver) fns.set(key, (fns.get(key) ?? 0) + us)
  }
  return { busy, groups, drivers, fns, wall: (profile.endTime - profile.startTime) }
}

for (const file of files) {
  const { busy, groups, drivers, fns, wall } = summarise(JSON.parse(readFileSync(file, 'utf8')))
  console.log(`${file}: ${(wall / 1e6).toFixed(2)} s profiled, ${(busy / 1e6).toFixed(2)} s busy`)
  console.log('  by package (share of busy time):')
  for (const [group, us] of [...groups].sort((a, b) => b[1] - a[1])) {
    console.log(`    ${group.padEnd(24)} ${(100 * us / busy).toFixed(1).padStart(5)} %  ${(us / 1e3).toFixed(0).padStart(6)} ms`)
  }
  console.log('  by the Kiln package that asked for the work (codec, docid, signing count for their caller):')
  for (const [driver, us] of [...drivers].sort((a, b) => b[1] - a[1])) {
    console.log(`    ${driver.padEnd(24)} ${(100 * us / busy).toFixed(1).padStart(5)} %  ${(us / 1e3).toFixed(0).padStart(6)} ms`)
  }
  console.log(`  top ${top} functions by self time:`)
  for (const [fn, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${(100 * us / busy).toFixed(1).padStart(5)} %  ${fn}`)
  }
}
