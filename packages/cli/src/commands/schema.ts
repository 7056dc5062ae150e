import { parseArgs } from 'node:util'
import { makeSchemaGenesis } from '@kiln/doctype-schema'
import { UsageError } from '../errors.js'
import { describeState, printJSON, snapshotJSON, withProgress, nameOfType } from '../output.js'
import { clientOf, clientOptions, contentOf, signerOf } from './client-options.js'
import type { Command } from './command.js'

/** `kiln schema create`: publishes a JSON Schema as a schema document. */
export const schemaCommand: Command = {
  summary: 'publish a JSON Schema (draft 2020-12 or draft-07) as a schema document; prints the CommitID tiles reference',
  usage: `kiln schema create [<json>] [--file <path>|-] [--seed <hex>] [--url …] [--json]

  Reference the printed CommitID from a tile with \`kiln create --schema <commitId>\`: a schema is always pinned to a
  version, so a later update of the schema never changes what existing documents must follow.`,
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: { ...clientOptions, file: { type: 'string' } }, allowPositionals: true, strict: true })
    const [action, content, extra] = positionals
    if (action !== 'create' || extra !== undefined) throw new UsageError('usage: kiln schema create [<json>] [--file <path>]')
    const genesis = await makeSchemaGenesis(contentOf(content, values.file), {}, signerOf(values, io))
    const { id, state } = await withProgress(io, 'publishing the schema', async () => await clientOf(values, io).createDocument('schema', genesis.commit))
    const commitId = id.atCommit(state.log[state.log.length - 1]!.cid).toString()
    if (values.json === true) {
      printJSON(io, { ...snapshotJSON(id.toString(), state, nameOfType(id.type)), commitId })
    } else {
      io.out.write(describeState(id.toString(), state))
      io.out.write(`commit:      ${commitId}\n\nUse it with: kiln create --schema ${commitId} '<json>'\n`)
    }
    return 0
  }
}
