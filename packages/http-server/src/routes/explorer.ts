import { readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** The page's static files (HTML, CSS), kept beside the package's sources: tsc copies nothing. */
const STATIC_DIR = fileURLToPath(new URL('../../explorer/static/', import.meta.url))
/** The page's scripts, compiled by `explorer/tsconfig.json` into the package's `dist/explorer/`. */
const SCRIPT_DIR = fileURLToPath(new URL('../explorer/', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8'
}

// Everything the page loads comes from this node: no CDN, no inline script, no outside request.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/** The served files by name: what is in the two folders when the server is built, of the three types only. */
function explorerFiles (): Map<string, { path: string, type: string }> {
  const files = new Map<string, { path: string, type: string }>()
  for (const dir of [STATIC_DIR, SCRIPT_DIR]) {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      continue // not built yet: the page is then missing, and its routes answer 404
    }
    for (const name of names) {
      const type = TYPES[name.slice(name.lastIndexOf('.'))]
      if (type !== undefined && !name.endsWith('.d.ts')) files.set(name, { path: dir + name, type })
    }
  }
  return files
}

/**
 * The explorer (docs/explorer.md): `GET /` is its page and `GET /explorer/:file` its scripts and style sheet, served
 * from a fixed list of files. Any other name is the router's 404; nothing is ever written.
 */
export function explorerRoutes (app: FastifyInstance): void {
  const files = explorerFiles()
  const cache = new Map<string, Buffer>()
  const send = async (reply: FastifyReply, name: string): Promise<FastifyReply> => {
    const file = files.get(name)
    if (file === undefined) { reply.callNotFound(); return reply }
    let bytes = cache.get(name)
    if (bytes === undefined) {
      bytes = await readFile(file.path)
      cache.set(name, bytes)
    }
    return await reply.type(file.type)
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(bytes)
  }
  app.get('/', { config: { rateLimit: 'read' } }, async (_request, reply) => await send(reply, 'index.html'))
  app.get<{ Params: { file: string } }>('/explorer/:file', { config: { rateLimit: 'read' } }, async (request, reply) => {
    const name = request.params.file
    // index.html is the page at `/`; under /explorer/ only what it loads.
    return await send(reply, name === 'index.html' ? '' : name)
  })
}
