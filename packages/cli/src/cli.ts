import { parseArgs } from 'node:util'
import { isKilnError } from '@kiln/interface'
import { buildInfo } from './build-info.js'

/** Where a command writes and what it may read: the CLI is the only part of Kiln that reads the environment. */
export interface CliIO {
  out: { write(chunk: string): unknown }
  err: { write(chunk: string): unknown }
  env: Record<string, string | undefined>
}

interface Command {
  summary: string
  usage: string
  run(args: string[], io: CliIO): Promise<number>
}

const USAGE = `kiln — a verifiable document network node

Usage: kiln <command> [options]

Commands:
${'{commands}'}
Run \`kiln <command> --help\` for a command's options.`

const commands: Record<string, Command> = {
  version: {
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
  },
  daemon: {
    summary: 'run a Kiln node (the HTTP daemon arrives in a later release; for now prints what this build contains)',
    usage: 'kiln daemon',
    async run (args, io) {
      parseArgs({ args, options: {}, strict: true })
      const info = buildInfo()
      io.out.write(`kiln ${info.version} on node ${info.node}\n`)
      io.out.write('built from:\n')
      for (const p of info.packages) io.out.write(`  ${p.name} ${p.version}\n`)
      io.out.write('The node daemon (HTTP API on 127.0.0.1:7007) is not part of this release yet; the packages above are ready to use as libraries.\n')
      return 0
    }
  }
}

function usage (): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length))
  const list = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}\n`).join('')
  return USAGE.replace('{commands}', list)
}

/** Runs the `kiln` command line with `argv` (without node and script) and returns the exit code. */
export async function run (argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out.write(`${usage()}\n`)
    return name === undefined ? 1 : 0
  }
  if (name === '--version' || name === '-v') return commands.version!.run([], io)
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
    const message = err instanceof Error ? err.message : String(err)
    const prefix = isKilnError(err) ? `${err.name}: ` : ''
    io.err.write(`kiln ${name}: ${prefix}${message}\n`)
    return 1
  }
}
