import type { CliIO } from '../output.js'

/** One `kiln` command: what it does, how to call it, and its body. */
export interface Command {
  summary: string
  usage: string
  run(args: string[], io: CliIO): Promise<number>
}
