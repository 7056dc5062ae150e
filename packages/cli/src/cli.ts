import { parseArgs } from 'node:util'
import { isKilnError } from '@kiln/interface'
import { buildInfo } from './build-info.js'
import type { Command } from './commands/command.js'
import { backupCommand, restoreCommand } from './commands/backup.js'
import { daemon } from './commands/daemon.js'
import { did } from './commands/did.js'
import { commits, cosign, create, show, state, submit, update, watch } from './commands/documents.js'
import { hooks } from './commands/hooks.js'
import { link } from './commands/link.js'
import { peers } from './commands/peers.js'
import { pin } from './commands/pins.js'
import { backlinksCommand, queryCommand } from './commands/query.js'
import { schemaCommand } from './commands/schema.js'
import { exportCommand, importCommand, verifyCommand } from './commands/transfer.js'
import type { CliIO } from './output.js'

export type { CliIO } from './output.js'

const version: Command = {
  summary: 'print the version of kiln and of the packages it was built from',
  usage: 'kiln version [--json]',
  async run (args, io) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true })
    const info = buildInfo()
    if (values.json === true) {
      io.out.write(`${JSON.stringify(info)}\n`)
    } else {
      io.out.write(`kiln ${info.version} (node ${info.node})\n`)
      for (const p of info.packages) io.out.write(`  ${p.name} ${p.version}\n`)
    }
    return 0
  }
}

const commands: Record<string, Command> = { daemon, did, create, update, cosign, submit, show, state, commits, watch, query: queryCommand, backlinks: backlinksCommand, schema: schemaCommand, link, pin, hooks, peers, export: exportCommand, verify: verifyCommand, import: importCommand, backup: backupCommand, restore: restoreCommand, version }

function usage (): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length))
  const list = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}\n`).join('')
  return `kiln — a verifiable document network node

Usage: kiln <command> [options]

Commands:
${list}
Client commands talk to the node at --url (or KILN_URL; default http://127.0.0.1:7007) and sign with --seed (or
KILN_SEED). Every command takes --json for output scripts can read, and --help.`
}

/** Runs the `kiln` command line with `argv` (without node and script) and returns the exit code. */
export async function run (argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out.write(`${usage()}\n`)
    return name === undefined ? 1 : 0
  }
  if (name === '--version' || name === '-v') return await version.run([], io)
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (command === undefined) {
    io.err.write(`kiln: unknown command "${name}". Run \`kiln --help\` for the list.\n`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out.write(`${command.summary}\n\nUsage: ${command.usage}\n`)
    return 0
  }
  try {
    return await command.run(rest, io)
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]
    const prefix = isKilnError(err) ? `${err.name}: ` : ''
    io.err.write(`kiln ${name}: ${prefix}${message}\n`)
    return 1
  }
}
