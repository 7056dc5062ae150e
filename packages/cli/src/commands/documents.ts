import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { commitFromJSON, commitToJSON, docStateToJSON } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { makeGenesis, makePatchUpdate, makeUpdate, type TileUpdateOptions } from '@kiln/doctype-tile'
import { AnchorStatus, anchorStatusName, type DocState, type LogEntry, type SignedCommit } from '@kiln/interface'
import { addSignature } from '@kiln/signing'
import type { KilnHttpClient } from '@kiln/http-client'
import { UsageError } from '../errors.js'
import { describeState, printJSON, snapshotJSON, withProgress, type CliIO, nameOfType } from '../output.js'
import { clientOf, clientOptions, contentOf, signerOf } from './client-options.js'
import type { Command } from './command.js'

const writeOptions = {
  ...clientOptions,
  file: { type: 'string' },
  'no-anchor': { type: 'boolean' },
  'wait-anchor': { type: 'boolean' },
  'anchor-chain': { type: 'string' },
  controller: { type: 'string' }
} as const

/** Waits until the document is anchored (or failed), with a progress indicator. */
async function waitForAnchor (client: KilnHttpClient, id: string, io: CliIO): Promise<DocState> {
  return await withProgress(io, `waiting for ${id} to be anchored`, async () => {
    const controller = new AbortController()
    io.signal?.addEventListener('abort', () => { controller.abort() }, { once: true })
    try {
      for await (const { state } of client.watch(id, { signal: controller.signal })) {
        if (state.anchorStatus === AnchorStatus.ANCHORED || state.anchorStatus === AnchorStatus.FAILED) return state
      }
    } finally {
      controller.abort()
    }
    return (await client.load(id)).state
  })
}

async function finish (client: KilnHttpClient, id: DocID, state: DocState, values: { json?: boolean, 'wait-anchor'?: boolean }, io: CliIO): Promise<number> {
  const final = values['wait-anchor'] === true ? await waitForAnchor(client, id.toString(), io) : state
  if (values.json === true) printJSON(io, snapshotJSON(id.toString(), final, nameOfType(id.type)))
  else io.out.write(describeState(id.toString(), final))
  return final.anchorStatus === AnchorStatus.FAILED ? 1 : 0
}

/** `kiln create`: a new tile document signed by the given seed. */
export const create: Command = {
  summary: 'create a tile document from JSON content, signed with your seed',
  usage: `kiln create [<json>] [--file <path>|-] [--family <f>] [--tag <t>]... [--schema <commitId>]
                  [--rules <commitId>] [--doctype tile|rules] [--deterministic] [--controller <did>] [--no-anchor] [--no-pin] [--wait-anchor] [--anchor-chain <caip2>]
                  [--seed <hex>] [--url http://127.0.0.1:7007] [--json]

  --deterministic creates a document without content whose DocID depends only on controller, family and tags.
  --rules names the rules document (a CommitID) that governs every update (docs/rules.md).
  --doctype rules creates a rules document: its content is a rule set.`,
  async run (args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        ...writeOptions, family: { type: 'string' }, tag: { type: 'string', multiple: true }, schema: { type: 'string' }, rules: { type: 'string' },
        doctype: { type: 'string' }, deterministic: { type: 'boolean' }, 'no-pin': { type: 'boolean' }
      },
      allowPositionals: true,
      strict: true
    })
    if (positionals.length > 1) throw new UsageError('kiln create takes one JSON argument (quote it)')
    const doctype = values.doctype ?? 'tile'
    if (doctype !== 'tile' && doctype !== 'rules') throw new UsageError(`--doctype must be tile or rules, got ${doctype}`)
    const client = clientOf(values, io)
    const opts = {
      ...(values.rules === undefined ? {} : { rules: values.rules }),
      ...(values.family === undefined ? {} : { family: values.family }),
      ...(values.tag === undefined ? {} : { tags: values.tag }),
      ...(values.schema === undefined ? {} : { schema: values.schema }),
      ...(values.controller === undefined ? {} : { controllers: [values.controller] })
    }
    const writeOpts = { anchor: values['no-anchor'] !== true, pin: values['no-pin'] !== true, ...(values['anchor-chain'] === undefined ? {} : { anchorChain: values['anchor-chain'] }) }
    let snapshot
    if (values.deterministic === true) {
      if (positionals.length > 0 || values.file !== undefined) throw new UsageError('a --deterministic document has no content')
      const controllers = opts.controllers ?? [signerOf(values, io).did]
      const genesis = await makeGenesis(null, { ...opts, controllers, deterministic: true })
      snapshot = await withProgress(io, 'creating', async () => await client.createDocument('tile', genesis.record, writeOpts))
    } else {
      const content = contentOf(positionals[0], values.file)
      const genesis = await makeGenesis(content, opts, signerOf(values, io))
      snapshot = await withProgress(io, 'creating', async () => await client.createDocument(doctype, genesis.commit, writeOpts))
    }
    return await finish(client, snapshot.id, snapshot.state, values, io)
  }
}

type JsonPatchOperation = Parameters<typeof makePatchUpdate>[1][number]

/** `--evidence name=<commitId>` values as a map; a UsageError for a malformed one. */
function evidenceOf (values: string[] | undefined): Record<string, string> | undefined {
  if (values === undefined) return undefined
  const evidence: Record<string, string> = {}
  for (const value of values) {
    const at = value.indexOf('=')
    if (at <= 0 || at === value.length - 1) throw new UsageError(`--evidence takes name=<commitId>, got ${JSON.stringify(value)}`)
    evidence[value.slice(0, at)] = value.slice(at + 1)
  }
  return evidence
}

/** A JSON-Patch from `--patch`: a JSON list of operations. */
function patchOf (text: string): JsonPatchOperation[] {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`--patch is not JSON: ${(err as Error).message}`)
  }
  if (!Array.isArray(value)) throw new UsageError('--patch must be a JSON list of operations, e.g. \'[{"op":"add","path":"/tasks/-","value":"x"}]\'')
  return value as JsonPatchOperation[]
}

/** A signed commit prepared with `--out`, read back from its file. */
function readCommitFile (file: string): SignedCommit {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'))
  } catch (err) {
    throw new UsageError(`cannot read the commit in ${file}: ${(err as Error).message}`)
  }
  const commit = commitFromJSON(json)
  if (!('jws' in commit)) throw new UsageError(`${file} holds no signed commit`)
  return commit
}

/** `kiln update`: replaces a tile's content (sent as a JSON patch), signed by a controller. */
export const update: Command = {
  summary: "replace a tile document's content (sent as a JSON patch), signed with your seed",
  usage: `kiln update <docid> [<json>] [--file <path>|-] [--patch <json-patch>] [--controller <new controller did>]
                  [--evidence <name>=<commitId>]... [--rules <commitId>] [--out <file>]
                  [--no-anchor] [--wait-anchor] [--seed <hex>] [--url …] [--json]

  --patch sends these JSON-Patch operations as they are (rules may look at them: append with "add" at /list/-,
    compare-and-set with a "test" first) instead of the difference with the new content.
  --evidence cites another document at a commit for the document's rules; --rules changes its rules document.
  --out writes the signed commit to a file instead of sending it, for others to co-sign (\`kiln cosign\`) and
    someone to send (\`kiln submit\`).`,
  async run (args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...writeOptions, patch: { type: 'string' }, evidence: { type: 'string', multiple: true }, rules: { type: 'string' }, out: { type: 'string' } },
      allowPositionals: true,
      strict: true
    })
    const [idText, contentText, extra] = positionals
    if (idText === undefined || extra !== undefined) throw new UsageError('usage: kiln update <docid> [<json>] [--file <path>] [--patch <json-patch>]')
    if (values.patch !== undefined && (contentText !== undefined || values.file !== undefined)) throw new UsageError('give new content or --patch, not both')
    const id = DocID.fromString(idText)
    const client = clientOf(values, io)
    const signer = signerOf(values, io)
    const { state } = await withProgress(io, 'loading', async () => await client.load(id))
    const headerOptions: TileUpdateOptions = {
      ...(values.controller === undefined ? {} : { controllers: [values.controller] }),
      ...(values.rules === undefined ? {} : { rules: values.rules }),
      ...(values.evidence === undefined ? {} : { evidence: evidenceOf(values.evidence) })
    }
    const patch = values.patch === undefined ? undefined : patchOf(values.patch)
    const content = patch !== undefined || (contentText === undefined && values.file === undefined && (values.controller !== undefined || values.rules !== undefined))
      ? state.content as Record<string, unknown>
      : contentOf(contentText, values.file)
    const build = async (tip: DocState): Promise<SignedCommit> => patch === undefined
      ? (await makeUpdate(tip, content, signer, headerOptions)).commit
      : (await makePatchUpdate(tip, patch, signer, headerOptions)).commit
    if (values.out !== undefined) {
      writeCommitFile(values.out, await build(state), io)
      return 0
    }
    // Built again on the new tip, with the same content, when an anchor or another writer moved the tip meanwhile.
    const snapshot = await withProgress(io, 'updating', async () => await client.applyOnTip(id, build,
      { state, anchor: values['no-anchor'] !== true, ...(values['anchor-chain'] === undefined ? {} : { anchorChain: values['anchor-chain'] }) }))
    return await finish(client, snapshot.id, snapshot.state, values, io)
  }
}

function writeCommitFile (file: string, commit: SignedCommit, io: CliIO): void {
  const text = `${JSON.stringify(commitToJSON(commit), null, 2)}\n`
  if (file === '-') io.out.write(text)
  else writeFileSync(file, text)
}

/** `kiln cosign`: adds your signature to a commit prepared with `kiln update --out`. */
export const cosign: Command = {
  summary: 'add your signature to a commit prepared with `kiln update --out` (multi-signature rules)',
  usage: 'kiln cosign <file> [--out <file>] [--seed <hex>]   (writes back to <file> unless --out)',
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: { ...clientOptions, out: { type: 'string' } }, allowPositionals: true, strict: true })
    if (positionals.length !== 1) throw new UsageError('usage: kiln cosign <file>')
    const file = positionals[0]!
    const commit = readCommitFile(file)
    const jws = await addSignature(commit.jws, signerOf(values, io))
    writeCommitFile(values.out ?? file, { ...commit, jws }, io)
    if (values.out !== '-') io.err.write(`${jws.signatures.length} signatures on ${values.out ?? file}\n`)
    return 0
  }
}

/** `kiln submit`: sends a commit prepared with `kiln update --out` (and co-signed). */
export const submit: Command = {
  summary: 'send a commit prepared with `kiln update --out` to the node',
  usage: 'kiln submit <docid> <file> [--no-anchor] [--wait-anchor] [--url …] [--json]',
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: writeOptions, allowPositionals: true, strict: true })
    if (positionals.length !== 2) throw new UsageError('usage: kiln submit <docid> <file>')
    const id = DocID.fromString(positionals[0]!)
    const client = clientOf(values, io)
    const commit = readCommitFile(positionals[1]!)
    const snapshot = await withProgress(io, 'submitting', async () => await client.applyCommit(id, commit,
      { anchor: values['no-anchor'] !== true, ...(values['anchor-chain'] === undefined ? {} : { anchorChain: values['anchor-chain'] }) }))
    return await finish(client, snapshot.id, snapshot.state, values, io)
  }
}

/** `kiln show`: a document's content. */
export const show: Command = {
  summary: "print a document's content (latest, or at a CommitID)",
  usage: 'kiln show <docid|commitid> [--url …] [--json]',
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: clientOptions, allowPositionals: true, strict: true })
    if (positionals.length !== 1) throw new UsageError('usage: kiln show <docid|commitid>')
    const { id, state } = await withProgress(io, 'loading', async () => await clientOf(values, io).load(positionals[0]!))
    if (values.json === true) printJSON(io, { streamId: id.toString(), content: state.content })
    else io.out.write(`${JSON.stringify(state.content, null, 2)}\n`)
    return 0
  }
}

/** `kiln state`: a document's whole state. */
export const state: Command = {
  summary: "print a document's state: controllers, anchor status, commits, content",
  usage: 'kiln state <docid|commitid> [--url …] [--json]',
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: clientOptions, allowPositionals: true, strict: true })
    if (positionals.length !== 1) throw new UsageError('usage: kiln state <docid|commitid>')
    const snapshot = await withProgress(io, 'loading', async () => await clientOf(values, io).load(positionals[0]!))
    if (values.json === true) printJSON(io, snapshotJSON(snapshot.id.toString(), snapshot.state, nameOfType(snapshot.id.type)))
    else io.out.write(describeState(snapshot.id.toString(), snapshot.state))
    return 0
  }
}

function entryLine (entry: LogEntry, index: number): string {
  const kind = ['genesis', 'signed', 'anchor'][entry.type] ?? String(entry.type)
  const time = entry.timestamp === undefined ? 'not anchored' : new Date(entry.timestamp * 1000).toISOString()
  return `${String(index).padStart(4)}  ${kind.padEnd(7)}  ${entry.cid.toString()}  ${time}`
}

/** `kiln commits`: a document's log. */
export const commits: Command = {
  summary: "list a document's commits, genesis first",
  usage: 'kiln commits <docid> [--url …] [--json]',
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: clientOptions, allowPositionals: true, strict: true })
    if (positionals.length !== 1) throw new UsageError('usage: kiln commits <docid>')
    const client = clientOf(values, io)
    const id = positionals[0]!
    const [snapshot, log] = await withProgress(io, 'loading', async () => await Promise.all([client.load(id), client.loadLog(id)]))
    if (values.json === true) {
      printJSON(io, { streamId: snapshot.id.toString(), commits: log.map((item) => ({ cid: item.cid.toString(), value: commitToJSON(item.value) })) })
    } else {
      snapshot.state.log.forEach((entry, i) => io.out.write(`${entryLine(entry, i)}\n`))
    }
    return 0
  }
}

/** `kiln watch`: each new state of a document, until Ctrl-C (or until anchored). */
export const watch: Command = {
  summary: 'print each new state of a document as it happens, until Ctrl-C',
  usage: 'kiln watch <docid> [--until-anchored] [--url …] [--json]',
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: { ...clientOptions, 'until-anchored': { type: 'boolean' } }, allowPositionals: true, strict: true })
    if (positionals.length !== 1) throw new UsageError('usage: kiln watch <docid>')
    const controller = new AbortController()
    io.signal?.addEventListener('abort', () => { controller.abort() }, { once: true })
    try {
      for await (const { id, state } of clientOf(values, io).watch(positionals[0]!, { signal: controller.signal })) {
        if (values.json === true) printJSON(io, { streamId: id.toString(), state: docStateToJSON(state, nameOfType(id.type)) })
        else io.out.write(`${new Date().toISOString()}  ${anchorStatusName(state.anchorStatus).padEnd(13)}  ${state.log.length} commits  ${JSON.stringify(state.content)}\n`)
        if (values['until-anchored'] === true && state.anchorStatus === AnchorStatus.ANCHORED) break
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err
    } finally {
      controller.abort()
    }
    return 0
  }
}
