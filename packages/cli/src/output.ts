import type { DocState } from '@kiln/interface'
import { AnchorStatus, anchorStatusName } from '@kiln/interface'
import { docStateToJSON } from '@kiln/codec'
import { doctypes, parseDocOrCommitID } from '@kiln/docid'

/** Where a command writes and what it may read: the CLI is the only part of Kiln that reads the environment. */
export interface CliIO {
  out: { write(chunk: string | Uint8Array): unknown, isTTY?: boolean }
  /** `columns` is a terminal's width, where the daemon's progress line is drawn. */
  err: { write(chunk: string): unknown, isTTY?: boolean, columns?: number }
  env: Record<string, string | undefined>
  /** Fires on Ctrl-C / SIGTERM for commands that run until stopped (daemon, watch). */
  signal?: AbortSignal
}

/** Prints a value as one JSON line. */
export function printJSON (io: CliIO, value: unknown): void {
  io.out.write(`${JSON.stringify(value)}\n`)
}

/** A state as the CLI prints it for people: id, status, controllers, then the content. */
export function describeState (id: string, state: DocState): string {
  const lines = [
    `id:          ${id}`,
    `type:        ${state.type}`,
    `controllers: ${state.metadata.controllers.join(', ')}`,
    `anchor:      ${anchorStatusName(state.anchorStatus)}${state.anchorStatus === AnchorStatus.ANCHORED && state.anchorProof !== undefined ? ` on ${state.anchorProof.chainId}` : ''}`,
    `commits:     ${state.log.length} (tip ${state.log[state.log.length - 1]!.cid.toString()})`,
    `version:     ${versionOf(id, state)}`,
    ...(state.metadata.rules === undefined ? [] : [`rules:       ${state.metadata.rules}`]),
    ...(state.provisional === undefined ? [] : [`provisional: ${state.provisional.map((p) => `${p.commit} (${p.conditions.map((c) => c.kind === 'deadline' ? `anchor by ${new Date(c.notAfter * 1000).toISOString()}` : `evidence ${c.commitId} not anchored`).join(', ')})`).join('; ')}`]),
    ...(state.voided === undefined ? [] : [`voided:      ${state.voided.map((v) => `${v.commit} (missed ${v.rule})`).join(', ')}`]),
    'content:',
    JSON.stringify(state.content, null, 2)
  ]
  return `${lines.join('\n')}\n`
}

/** The JSON form of a snapshot for `--json`. */
export function snapshotJSON (id: string, state: DocState, doctype?: string): Record<string, unknown> {
  return { streamId: id, commitId: versionOf(id, state), state: docStateToJSON(state, doctype) }
}

/** The CommitID of a state's tip: what rules, schemas and evidence name a document's version by. */
function versionOf (id: string, state: DocState): string {
  return parseDocOrCommitID(id).baseID.atCommit(state.log[state.log.length - 1]!.cid).toString()
}

/**
 * A progress indicator on standard error while `work` runs: a spinner with `label` on a terminal, one line otherwise
 * (so logs and `--json` output stay clean).
 */
export async function withProgress<T> (io: CliIO, label: string, work: () => Promise<T>): Promise<T> {
  if (io.err.isTTY !== true) {
    return await work()
  }
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
  let i = 0
  const timer = setInterval(() => { io.err.write(`\r${frames[i++ % frames.length]} ${label}`) }, 80)
  try {
    return await work()
  } finally {
    clearInterval(timer)
    io.err.write(`\r${' '.repeat(label.length + 2)}\r`)
  }
}

/** The doctype name of a code when this process knows it (a node's own doctypes may be unknown to a client). */
export function nameOfType (code: number): string | undefined {
  return doctypes.find(code)?.name
}

/** A count of documents on a progress line: `120 of 1,000 documents`. */
export function progressText (label: string, done: number, total: number): string {
  return `${label}: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} document${total === 1 ? '' : 's'}`
}

/** A line on a terminal redrawn as work progresses; nothing when standard error is not a terminal. */
export interface ProgressLine {
  /** Shows `done` of `total` (redrawn at most every 100 ms, and always at the end). */
  update(done: number, total: number): void
  /** Blanks the line. */
  clear(): void
}

/** A {@link ProgressLine} labelled `label` on `io.err`, drawn only on a terminal. */
export function progressLine (io: CliIO, label: string): ProgressLine {
  let drawn = 0
  let width = 0
  let last = 0
  return {
    update (done, total) {
      if (io.err.isTTY !== true) return
      const now = Date.now()
      if (done < total && now - last < 100) return
      last = now
      const text = progressText(label, done, total).slice(0, Math.max(20, (io.err.columns ?? 80) - 1))
      io.err.write(`\r${text}${' '.repeat(Math.max(0, width - text.length))}`)
      width = text.length
      drawn++
    },
    clear () {
      if (io.err.isTTY !== true || drawn === 0) return
      io.err.write(`\r${' '.repeat(width)}\r`)
    }
  }
}
