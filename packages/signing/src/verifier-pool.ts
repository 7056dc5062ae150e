import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { SignatureAlgorithm } from '@kiln/interface'
import { InvalidVerifierPoolOptionError, VerifierWorkerError } from './errors.js'
import { verifySignature } from './key-types.js'
import { encodeBatch, type BatchMessage, type SignatureJob, type WorkerMessage } from './verify-batch.js'
import { verificationAborted, verifierWithCheck, type KilnVerifier, type VerifierInit } from './verifier.js'

/** Options of {@link createVerifierPool}. */
export interface VerifierPoolInit extends VerifierInit {
  /**
   * How many worker threads check signatures. Default `os.availableParallelism() - 1`: every core but the main
   * thread's, so 0 on a one-core machine. With 0 the pool verifies on the calling thread, exactly as `createVerifier`.
   */
  size?: number
  /** How many signatures may wait for a worker (default 4096). Beyond that the calling thread checks them itself. */
  maxQueue?: number
  /** The worker script. Default: `verify-worker.js` beside this module; give it when a bundler moves that file. */
  workerURL?: URL
}

/** A verifier that checks signatures on worker threads; `stop()` terminates them. */
export interface KilnVerifierPool extends KilnVerifier {
  /** How many worker threads the pool was made with; 0 when it verifies in-process. */
  readonly size: number
  /** How many signature checks wait for a worker, and how many workers hold unanswered. */
  stats(): VerifierPoolStats
  /** Terminates the workers. Signatures they held, and every later verification, are checked in-process. */
  stop(): Promise<void>
}

/** A snapshot of a pool's load. */
export interface VerifierPoolStats {
  queued: number
  held: number
}

// A batch of 64 Ed25519 verifies is 5-10 ms of work: long enough that one postMessage round trip (tens of µs) is
// noise, short enough that a worker that dies loses little. Two batches per worker keep it busy while the main thread
// reads the answer to the first and sends a third.
const BATCH_LIMIT = 64
const BATCHES_PER_WORKER = 2
const DEFAULT_MAX_QUEUE = 4096

/** A signature waiting for, or held by, a worker, with the promise it settles. */
interface PendingCheck extends SignatureJob {
  // The signal is read when the check leaves the queue and when its answer comes back, not listened to: one signal
  // may be shared by thousands of verifications, and a batch takes milliseconds.
  signal: AbortSignal | undefined
  settled: boolean
  resolve(valid: boolean): void
  reject(err: Error): void
}

/** One worker thread and the batches it has not answered yet. */
interface PoolWorker {
  worker: Worker
  /** True once the worker has started listening: one that dies before that would die again if replaced. */
  ready: boolean
  batches: Map<number, PendingCheck[]>
  failure?: Error
}

/**
 * Creates a verifier that does the cheap steps (decoding, the controller check, DID resolution) on the calling thread
 * and the curve arithmetic on a pool of worker threads, in batches; same results and errors as `createVerifier`.
 */
export function createVerifierPool (init: VerifierPoolInit = {}): KilnVerifierPool {
  const size = checkOption('size', init.size ?? Math.max(availableParallelism() - 1, 0))
  const maxQueue = checkOption('maxQueue', init.maxQueue ?? DEFAULT_MAX_QUEUE)
  const workerURL = init.workerURL ?? new URL('./verify-worker.js', import.meta.url)
  const workers = new Set<PoolWorker>()
  const queue: PendingCheck[] = []
  let flushScheduled = false
  let stopped = false
  let stopping: Promise<void> | undefined
  let nextBatchId = 0

  // Built before any worker starts, so a bad resolver list throws without leaving threads behind.
  const verifier = verifierWithCheck(init, size === 0 ? verifySignature : checkSignature)
  for (let i = 0; i < size; i++) spawn()

  function spawn (): void {
    // The script needs no flags; inheriting the process's could stop it from starting (`--input-type` does).
    const entry: PoolWorker = { worker: new Worker(workerURL, { execArgv: [] }), ready: false, batches: new Map() }
    entry.worker.on('message', (message: WorkerMessage) => onMessage(entry, message))
    entry.worker.on('error', (err) => { entry.failure = err })
    entry.worker.on('exit', (code) => onExit(entry, code))
    // Only a worker holding a batch keeps the process alive; an idle pool never does. After the listeners: adding a
    // 'message' listener refs the worker again.
    entry.worker.unref()
    workers.add(entry)
  }

  async function checkSignature (alg: SignatureAlgorithm, publicKey: Uint8Array, signingInput: Uint8Array, signature: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    // A full queue means the workers are saturated: the caller checks this one itself, which both bounds the memory
    // the pool holds and slows the caller down to the rate the machine can verify.
    if (stopped || workers.size === 0 || queue.length >= maxQueue) return await verifySignature(alg, publicKey, signingInput, signature)
    return await new Promise<boolean>((resolve, reject) => {
      queue.push({ alg, publicKey, signingInput, signature, signal, settled: false, resolve, reject })
      if (!flushScheduled) {
        // Everything queued in this turn of the event loop leaves in the same batches.
        flushScheduled = true
        setImmediate(flush)
      }
    })
  }

  /** Hands queued checks to the workers with room for a batch, splitting the queue evenly among them. */
  function flush (): void {
    flushScheduled = false
    while (!stopped && queue.length > 0) {
      const open = [...workers].filter((w) => w.batches.size < BATCHES_PER_WORKER)
      if (open.length === 0) return
      open.sort((a, b) => a.batches.size - b.batches.size)
      const share = Math.min(BATCH_LIMIT, Math.ceil(queue.length / open.length))
      for (const entry of open) {
        const checks = queue.splice(0, share).filter((check) => !settleIfAborted(check))
        if (checks.length > 0) send(entry, checks)
      }
    }
  }

  function send (entry: PoolWorker, checks: PendingCheck[]): void {
    const id = nextBatchId++
    if (entry.batches.size === 0) entry.worker.ref()
    entry.batches.set(id, checks)
    const bytes = encodeBatch(checks)
    entry.worker.postMessage({ id, count: checks.length, bytes } satisfies BatchMessage, [bytes])
  }

  function onMessage (entry: PoolWorker, message: WorkerMessage): void {
    if (message.type === 'ready') {
      entry.ready = true
      return
    }
    const checks = entry.batches.get(message.id)
    if (checks === undefined) return
    entry.batches.delete(message.id)
    if (entry.batches.size === 0) entry.worker.unref()
    const results = new Uint8Array(message.results)
    checks.forEach((check, i) => settle(check, results[i] === 1))
    flush()
  }

  function onExit (entry: PoolWorker, exitCode: number): void {
    workers.delete(entry)
    if (stopped) return
    const held = [...entry.batches.values()].flat()
    const what = entry.ready ? 'a signature-verification worker exited' : 'a signature-verification worker could not start'
    const reason = entry.failure === undefined ? '' : `: ${entry.failure.message}`
    const err = new VerifierWorkerError(`${what} (exit code ${exitCode})${reason}; ${held.length} signature(s) it held were not checked`, {
      cause: entry.failure,
      details: { exitCode, held: held.length }
    })
    for (const check of held) fail(check, err)
    // A worker that never started would fail the same way again: then the remaining workers, or the calling thread
    // once none remains, take over.
    if (entry.ready) spawn()
    if (workers.size > 0) {
      flush()
    } else {
      for (const check of queue.splice(0)) checkInProcess(check)
    }
  }

  function checkInProcess (check: PendingCheck): Promise<void> {
    return verifySignature(check.alg, check.publicKey, check.signingInput, check.signature).then((valid) => settle(check, valid))
  }

  async function stop (): Promise<void> {
    if (stopping !== undefined) return await stopping
    stopped = true
    const entries = [...workers]
    // Nothing is lost: what the workers held or had yet to receive is checked here instead.
    const held = [...queue.splice(0), ...entries.flatMap((entry) => [...entry.batches.values()].flat())]
    stopping = Promise.all([
      ...held.map(checkInProcess),
      ...entries.map(async (entry) => { await entry.worker.terminate() })
    ]).then(() => undefined)
    return await stopping
  }

  function stats (): VerifierPoolStats {
    let held = 0
    for (const entry of workers) for (const checks of entry.batches.values()) held += checks.length
    return { queued: queue.length, held }
  }

  return Object.freeze({ ...verifier, size, stats, stop })
}

function settle (check: PendingCheck, valid: boolean): void {
  if (settleIfAborted(check)) return
  check.settled = true
  check.resolve(valid)
}

function fail (check: PendingCheck, err: Error): void {
  if (check.settled) return
  check.settled = true
  check.reject(err)
}

/** Rejects `check` with `AbortError` when its signal has fired; true when it is settled, by this or before. */
function settleIfAborted (check: PendingCheck): boolean {
  if (check.signal?.aborted === true) fail(check, verificationAborted(check.signal))
  return check.settled
}

function checkOption (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidVerifierPoolOptionError(`verifier pool ${name} must be a whole number ≥ 0, got ${String(value)}`, {
      details: { [name]: value }
    })
  }
  return value
}
