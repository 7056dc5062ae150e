// The script each worker of a verifier pool runs: it checks batches of signatures and answers one byte per job.
// It does only the curve arithmetic; decoding, DID resolution and every error message stay on the main thread.
import { parentPort } from 'node:worker_threads'
import { verifySignature } from './key-types.js'
import { decodeBatch, type BatchMessage, type WorkerMessage } from './verify-batch.js'

const port = parentPort
if (port !== null) {
  port.on('message', (batch: BatchMessage) => {
    void checkBatch(batch).then((message) => port.postMessage(message, [message.results]))
  })
  port.postMessage({ type: 'ready' } satisfies WorkerMessage)
}

async function checkBatch ({ id, count, bytes }: BatchMessage): Promise<WorkerMessage & { type: 'results' }> {
  const jobs = decodeBatch(bytes, count)
  const results = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const { alg, publicKey, signingInput, signature } = jobs[i]!
    // verifySignature never throws: anything wrong with the input is a signature that does not verify.
    results[i] = await verifySignature(alg, publicKey, signingInput, signature) ? 1 : 0
  }
  return { type: 'results', id, results: results.buffer }
}
