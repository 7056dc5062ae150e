import { parseArgs } from 'node:util'
import { commitToJSON, docStateToJSON } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { AnchorStatus, anchorStatusName, type DocState, type LogEntry } from '@kiln/interface'
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
                  [--deterministic] [--controller <did>] [--no-anchor] [--no-pin] [--wait-anchor] [--anchor-chain <caip2>]
                  [--seed <hex>] [--url http://127.0.0.1:7007] [--json]

  --deterministic creates a document without content whose DocID depends only on controller, family and tags.`,
  async run (args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...writeOptions, family: { type: 'string' }, tag: { type: 'string', multiple: true }, schema: { type: 'string' }, deterministic: { type: 'boolean' }, 'no-pin': { type: 'boolean' } },
      allowPositionals: true,
      strict: true
    })
    if (positionals.length > 1) throw new UsageError('kiln create takes one JSON argument (quote it)')
    const client = clientOf(values, io)
    const opts = {
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
      snapshot = await withProgress(io, 'creating', async () => await client.createDocument('tile', genesis.commit, writeOpts))
    }
    return await finish(client, snapshot.id, snapshot.state, values, io)
  }
}

/** `kiln update`: replaces a tile's content (sent as a JSON patch), signed by a controller. */
export const update: Command = {
  summary: "replace a tile document's content (sent as a JSON patch), signed with your seed",
  usage: `kiln update <docid> [<json>] [--file <path>|-] [--controller <new controller did>] [--no-anchor] [--wait-anchor]
                  [--seed <hex>] [--url …] [--json]`,
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: writeOptions, allowPositionals: true, strict: true })
    const [idText, contentText, extra] = positionals
    if (idText === undefined || extra !== undefined) throw new UsageError('usage: kiln update <docid> [<json>] [--file <path>]')
    const id = DocID.fromString(idText)
    const client = clientOf(values, io)
    const signer = signerOf(values, io)
    const { state } = await withProgress(io, 'loading', async () => await client.load(id))
    const content = contentText === undefined && values.file === undefined && values.controller !== undefined
      ? state.content as Record<string, unknown>
      : contentOf(contentText, values.file)
    const headerOptions = values.controller === undefined ? {} : { controllers: [values.controller] }
    // Built again on the new tip, with the same content, when an anchor or another writer moved the tip meanwhile.
    const snapshot = await withProgress(io, 'updating', async () => await client.applyOnTip(id,
      async (tip) => (await makeUpdate(tip, content, signer, headerOptions)).commit,
      { state, anchor: values['no-anchor'] !== true, ...(values['anchor-chain'] === undefined ? {} : { anchorChain: values['anchor-chain'] }) }))
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
