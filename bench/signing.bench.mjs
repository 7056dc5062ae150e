// Raw Ed25519 sign/verify rates of this machine (node:crypto's OpenSSL, which Kiln signs and verifies Ed25519 with,
// and the pure-JS @noble/curves for reference), against Kiln's sign+encode and verify+decode of a small commit, and
// against the verifier pool's throughput with many verifications in flight.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import { decodeJWS, decodeRecord, encodeRecord, signRecord } from '@kiln/codec'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { createThreadpoolVerifier, createVerifier, createVerifierPool, keyDidSigner } from '@kiln/signing'
import { ed25519 } from '@noble/curves/ed25519'
import { rate, report } from './measure.mjs'

export default async function signingBench () {
  const seed = new Uint8Array(32).fill(7)
  const message = new TextEncoder().encode('eyJhbGciOiJFZERTQSIsImtpZCI6ImRpZDprZXk6ejZNayJ9.AXESIGJlbmNobWFyaw')
  const publicKey = ed25519.getPublicKey(seed)
  const signature = ed25519.sign(message, seed)

  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  const pub = createPublicKey(privateKey)
  const nodeSig = nodeSign(null, message, privateKey)
  const rawSign = await rate(() => nodeSign(null, message, privateKey))
  const rawVerify = await rate(() => nodeVerify(null, message, pub, nodeSig))
  report('ed25519.raw_sign', rawSign, 'ops/s', 'node:crypto (OpenSSL), what Kiln signs with')
  report('ed25519.raw_verify', rawVerify, 'ops/s', 'node:crypto (OpenSSL), what Kiln verifies with')
  const cpuBefore = threadCpuMicros()
  for (let i = 0; i < 10_000; i++) nodeVerify(null, message, pub, nodeSig)
  const { mainCpuPerOp: rawVerifyCpu } = cpuPerOp(cpuBefore, threadCpuMicros(), 10_000)
  if (rawVerifyCpu !== undefined) report('ed25519.raw_verify.cpu_per_op', rawVerifyCpu, 'µs', 'CPU time of the thread')
  report('ed25519.noble_sign', await rate(() => ed25519.sign(message, seed)), 'ops/s', '@noble/curves, pure JS, reference only')
  report('ed25519.noble_verify', await rate(() => ed25519.verify(signature, message, publicKey)), 'ops/s', '@noble/curves, reference only')

  // A small update commit, as a tile update will look.
  const signer = keyDidSigner({ seed })
  const prev = (await encodeRecord({ genesis: true })).cid
  let counter = 0
  const record = () => ({ id: prev, prev, header: {}, data: [{ op: 'replace', path: '/n', value: counter++ }] })

  const kilnSign = await rate(async () => { await signRecord(record(), signer) })
  report('commit.sign_encode', kilnSign, 'ops/s', 'encode payload, sign its CID, encode dag-jose envelope')
  report('commit.sign_encode.ratio_to_raw_sign', kilnSign / rawSign, 'x')

  const signed = await signRecord(record(), signer)
  const verifier = createVerifier()
  const controllers = [signer.did]
  const kilnVerify = await rate(async () => {
    const jws = await decodeJWS(signed.envelope.bytes, signed.envelope.cid)
    await decodeRecord(signed.payload.bytes, jws.link)
    await verifier.verifyDagJWS(jws, { controllers })
  })
  report('commit.verify_decode', kilnVerify, 'ops/s', 'decode + hash-check both blocks, resolve did:key, verify')
  report('commit.verify_decode.ratio_to_raw_verify', kilnVerify / rawVerify, 'x')

  // Verification alone, on envelopes already decoded, many at once as a node's ingest runs them: a new one starts as
  // each finishes. First all of verifyDagJWS on this thread, what a worker running the whole of it could reach at best.
  const envelopes = []
  for (let i = 0; i < 256; i++) envelopes.push(await signer.createDagJWS((await signRecord(record(), signer)).payload.cid))
  const verifyOne = (v) => (i) => v.verifyDagJWS(envelopes[i % envelopes.length], { controllers })
  const inProcess = await concurrentRate(verifyOne(verifier), 64)
  report('verify.in_process.ops_per_s', inProcess.rate, 'ops/s', 'createVerifier, one thread')
  report('verify.in_process.ratio_to_raw_verify', inProcess.rate / rawVerify, 'x')
  if (inProcess.mainCpuPerOp !== undefined) report('verify.in_process.cpu_per_op', inProcess.mainCpuPerOp, 'µs', 'CPU time of the thread')

  // Then the pool at its default size (a worker per core but one). The window stays under its queue limit, so every
  // signature is checked on a worker, none on this thread. Each round measures the raw rate right before the pool's,
  // so that a machine whose load changes during the run skews both alike; the median round is reported.
  const pool = createVerifierPool()
  const rounds = []
  for (let round = 0; round < 3; round++) {
    const raw = await rate(() => nodeVerify(null, message, pub, nodeSig), { ms: 1000 })
    const pooled = await concurrentRate(verifyOne(pool), 512, { workers: pool.size })
    rounds.push({ ...pooled, ratio: pooled.rate / raw })
  }
  await pool.stop()
  const median = rounds.sort((a, b) => a.ratio - b.ratio)[1]
  report('verify.pool.ops_per_s', median.rate, 'ops/s', `${pool.size} worker(s) on ${availableParallelism()} cores, 512 in flight`)
  report('verify.pool.ratio_to_raw_verify', median.ratio, 'x', 'against ed25519.raw_verify measured just before, median of 3')
  // CPU time per verification: what stays on the main thread (decoding, resolution, batching), against
  // verify.in_process.cpu_per_op; and what the workers spend, against ed25519.raw_verify.cpu_per_op. On a busy machine
  // these say more than the rates: a worker that cannot get a core slows the pool, not its cost.
  if (median.mainCpuPerOp !== undefined) {
    report('verify.pool.main_thread_cpu_per_op', median.mainCpuPerOp, 'µs', 'CPU time of the main thread')
    report('verify.pool.worker_cpu_per_op', median.workerCpuPerOp, 'µs', 'CPU time of the workers together')
  }

  // The node's default: Ed25519 checks queued to libuv's thread pool from the main thread, measured the same way.
  const threadpool = createThreadpoolVerifier()
  const libuvRounds = []
  for (let round = 0; round < 3; round++) {
    const raw = await rate(() => nodeVerify(null, message, pub, nodeSig), { ms: 1000 })
    const queued = await concurrentRate(verifyOne(threadpool), 512)
    libuvRounds.push({ ...queued, ratio: queued.rate / raw })
  }
  const libuvMedian = libuvRounds.sort((a, b) => a.ratio - b.ratio)[1]
  report('verify.threadpool.ops_per_s', libuvMedian.rate, 'ops/s', `createThreadpoolVerifier (the node's default), libuv's ${process.env.UV_THREADPOOL_SIZE ?? 4} threads, 512 in flight`)
  report('verify.threadpool.ratio_to_raw_verify', libuvMedian.ratio, 'x', 'against ed25519.raw_verify measured just before, median of 3')
  if (libuvMedian.mainCpuPerOp !== undefined) report('verify.threadpool.main_thread_cpu_per_op', libuvMedian.mainCpuPerOp, 'µs', 'CPU time of the main thread')
}

/**
 * Operations per second of `start(i)` with `window` of them in flight at all times (after a warm-up), and where the
 * platform tells it (Linux) the CPU time per operation of the main thread and of the `workers` busiest other threads.
 */
async function concurrentRate (start, window, { ms = 1500, warmup = 300, workers = 0 } = {}) {
  let next = 0
  let counting = false
  let done = 0
  const lane = async (until) => {
    while (performance.now() < until) {
      await start(next++)
      if (counting) done++
    }
  }
  await Promise.all(Array.from({ length: window }, () => lane(performance.now() + warmup)))
  counting = true
  const begin = performance.now()
  const cpuBefore = threadCpuMicros()
  await Promise.all(Array.from({ length: window }, () => lane(begin + ms)))
  const rate = done / ((performance.now() - begin) / 1000)
  return { rate, ...cpuPerOp(cpuBefore, threadCpuMicros(), done, workers) }
}

/**
 * CPU time (user + system) in µs of each thread of this process by thread id, from /proc (Linux; 100 clock ticks a
 * second), or undefined elsewhere. `process.cpuUsage()` would add the pool's workers to the main thread.
 */
function threadCpuMicros () {
  if (!existsSync('/proc/self/task')) return undefined
  return new Map(readdirSync('/proc/self/task').map((tid) => {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the whole line.
    const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')
    return [tid, (Number(fields[11]) + Number(fields[12])) * 10_000]
  }))
}

/** CPU µs per operation of the main thread, and of the `workers` busiest other threads together, between snapshots. */
function cpuPerOp (before, after, ops, workers = 0) {
  if (before === undefined || after === undefined) return {}
  const main = String(process.pid)
  const used = [...after].map(([tid, cpu]) => [tid, cpu - (before.get(tid) ?? 0)])
  const others = used.filter(([tid]) => tid !== main).map(([, cpu]) => cpu).sort((a, b) => b - a)
  const mainCpu = used.find(([tid]) => tid === main)?.[1] ?? 0
  return { mainCpuPerOp: mainCpu / ops, workerCpuPerOp: others.slice(0, workers).reduce((a, b) => a + b, 0) / ops }
}
