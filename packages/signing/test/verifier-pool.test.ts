import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest'
import { base64url } from 'multiformats/bases/base64'
import { InvalidSignatureError, KilnError, type DagJWS, type DIDSigner, type VerifiedSignature } from '@kiln/interface'
import {
  createVerifier,
  createVerifierPool,
  keyDidSigner,
  randomSeed,
  signCompactJWS,
  type KilnVerifierPool,
  type VerifierPoolInit
} from '@kiln/signing'
import { cidOf, expectKilnError, forgeJWS } from './fixtures/jws.js'
import { testDidMethod } from './fixtures/test-did.js'

const crashingWorker = new URL('./fixtures/crashing-verify-worker.mjs', import.meta.url)
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))

const pools: KilnVerifierPool[] = []
function pool (init: VerifierPoolInit = {}): KilnVerifierPool {
  const made = createVerifierPool(init)
  pools.push(made)
  return made
}
afterEach(async () => { await Promise.all(pools.splice(0).map(async (p) => { await p.stop() })) })

/** A JWS whose `kid` is `signer`'s but whose signature is 64 copies of `byte`: it never verifies. */
async function withSignatureBytes (signer: DIDSigner, byte: number, text = 'marker'): Promise<DagJWS> {
  const jws = await signer.createDagJWS(await cidOf(text))
  return { ...jws, signatures: [{ ...jws.signatures[0]!, signature: base64url.baseEncode(new Uint8Array(64).fill(byte)) }] }
}

/** What a verification gives, in a form two verifiers' outcomes can be compared with `toEqual`. */
async function outcome (promise: Promise<VerifiedSignature>): Promise<unknown> {
  return await promise.then(
    (verified) => ({ verified: { ...verified, payload: verified.payload.toString() } }),
    (err: unknown) => err instanceof KilnError
      ? { name: err.name, message: err.message, details: err.details, kilnError: true }
      : { thrown: String(err) }
  )
}

describe('createVerifierPool', () => {
  it('gives the same result or the same named error, message and details as createVerifier for each JWS', async () => {
    const method = testDidMethod()
    const alice = keyDidSigner({ seed: randomSeed() })
    const k1 = keyDidSigner({ seed: randomSeed(), type: 'secp256k1' })
    const mallory = keyDidSigner({ seed: randomSeed() })
    const carol = method.signer('carol')
    const cid = await cidOf('same answers')
    const aliceJWS = await alice.createDagJWS(cid)
    const cases: Array<[DagJWS, string[] | undefined]> = [
      [aliceJWS, [alice.did]],
      [await k1.createDagJWS(cid), undefined],
      [await carol.createDagJWS(cid), [carol.did]],
      [await forgeJWS({ alg: 'EdDSA', kid: alice.kid }, cid, mallory.sign), [alice.did]],
      [await forgeJWS({ alg: 'EdDSA', kid: carol.kid }, cid, mallory.sign), undefined],
      [await withSignatureBytes(k1, 0x01), undefined],
      [{ ...aliceJWS, link: await cidOf('another') }, undefined],
      [await mallory.createDagJWS(cid), [alice.did]],
      [await forgeJWS({ alg: 'ES256K', kid: alice.kid }, cid, alice.sign), undefined],
      [await forgeJWS({ alg: 'EdDSA', kid: `${alice.did}#nope` }, cid, alice.sign), undefined],
      [await forgeJWS({ alg: 'EdDSA', kid: 'did:web:example.com#key-1' }, cid, alice.sign), undefined],
      [await forgeJWS({ alg: 'EdDSA', kid: 'did:test:nobody#signing' }, cid, alice.sign), undefined],
      [{ ...aliceJWS, signatures: [] }, undefined]
    ]
    const reference = createVerifier({ resolvers: [method.resolver] })
    const pooled = pool({ size: 1, resolvers: [method.resolver] })
    const expected = await Promise.all(cases.map(async ([jws, controllers]) => await outcome(reference.verifyDagJWS(jws, { controllers }))))
    const actual = await Promise.all(cases.map(async ([jws, controllers]) => await outcome(pooled.verifyDagJWS(jws, { controllers }))))
    expect(actual).toEqual(expected)
    // The table covers both answers and every error the verifier throws, so it cannot pass by accident.
    expect(new Set(expected.map((e) => (e as { name?: string }).name))).toEqual(new Set([
      undefined, 'InvalidSignatureError', 'UnauthorizedSignerError', 'DIDResolutionError', 'UnsupportedDIDMethodError'
    ]))
  })

  it('verifies compact JWS with the same results and errors as createVerifier', async () => {
    const admin = keyDidSigner({ seed: randomSeed() })
    const other = keyDidSigner({ seed: randomSeed(), type: 'secp256k1' })
    const jws = await signCompactJWS(admin, { code: 'abc' })
    const [header, , signature] = jws.split('.')
    const forged = `${header}.${Buffer.from(JSON.stringify({ code: 'xyz' })).toString('base64url')}.${signature}`
    const cases: Array<[string, string[] | undefined]> = [
      [jws, [admin.did]], [await signCompactJWS(other, [1, 2]), undefined], [jws, [other.did]], [forged, undefined], ['a.b', undefined]
    ]
    const settle = async (promise: Promise<unknown>): Promise<unknown> =>
      await promise.then((value) => ({ value }), (err: KilnError) => ({ name: err.name, message: err.message, details: err.details }))
    const reference = createVerifier()
    const pooled = pool({ size: 1 })
    const expected = await Promise.all(cases.map(async ([j, controllers]) => await settle(reference.verifyCompactJWS(j, { controllers }))))
    expect(await Promise.all(cases.map(async ([j, controllers]) => await settle(pooled.verifyCompactJWS(j, { controllers }))))).toEqual(expected)
    expect(expected.map((e) => (e as { name?: string }).name)).toEqual([undefined, undefined, 'UnauthorizedSignerError', 'InvalidSignatureError', 'InvalidSignatureError'])
  })

  it('rejects a forged signature checked on a worker with an InvalidSignatureError instance', async () => {
    const alice = keyDidSigner({ seed: randomSeed() })
    const mallory = keyDidSigner({ seed: randomSeed() })
    const forged = await forgeJWS({ alg: alice.alg, kid: alice.kid }, await cidOf('forged'), mallory.sign)
    const err = await expectKilnError(pool({ size: 1 }).verifyDagJWS(forged, { controllers: [alice.did] }), 'InvalidSignatureError')
    expect(err).toBeInstanceOf(InvalidSignatureError)
    expect(err.message).toContain(alice.kid)
  })

  it.each([
    ['two workers and room to queue everything', { size: 2 }],
    ['a queue of 8, so most checks run on the calling thread', { size: 1, maxQueue: 8 }]
  ])('resolves 400 concurrent verifications each with its own result, with %s', async (_what, init) => {
    const signers = [keyDidSigner({ seed: randomSeed() }), keyDidSigner({ seed: randomSeed(), type: 'secp256k1' })]
    const verifier = pool(init)
    const jobs = await Promise.all(Array.from({ length: 400 }, async (_, i) => {
      const signer = signers[i % 2]!
      const cid = await cidOf(`concurrent ${i}`)
      // Every third one carries another payload's signature.
      const jws = i % 3 === 0 ? await forgeJWS({ alg: signer.alg, kid: signer.kid }, cid, async () => new Uint8Array(await signatureOf(signer, i))) : await signer.createDagJWS(cid)
      return { jws, cid, signer, valid: i % 3 !== 0 }
    }))
    const outcomes = await Promise.all(jobs.map(async ({ jws }) => await outcome(verifier.verifyDagJWS(jws))))
    outcomes.forEach((got, i) => {
      const { cid, signer, valid } = jobs[i]!
      if (valid) expect(got).toEqual({ verified: { did: signer.did, kid: signer.kid, payload: cid.toString(), signers: [{ did: signer.did, kid: signer.kid }] } })
      else expect(got).toMatchObject({ name: 'InvalidSignatureError', kilnError: true })
    })
  })

  it('never queues more than maxQueue checks: beyond it the calling thread verifies them', async () => {
    const alice = keyDidSigner({ seed: randomSeed() })
    const verifier = pool({ size: 1, maxQueue: 8, workerURL: crashingWorker })
    const held = await withSignatureBytes(alice, 0xed)
    const good = await Promise.all(Array.from({ length: 100 }, async (_, i) => await alice.createDagJWS(await cidOf(`bounded ${i}`))))
    // The worker keeps two batches unanswered, so nothing leaves the queue any more.
    const kept = [outcome(verifier.verifyDagJWS(held))]
    await vi.waitFor(() => { expect(verifier.stats()).toEqual({ queued: 0, held: 1 }) })
    kept.push(outcome(verifier.verifyDagJWS(held)))
    await vi.waitFor(() => { expect(verifier.stats()).toEqual({ queued: 0, held: 2 }) })

    let answered = 0
    const all = good.map(async (jws) => await verifier.verifyDagJWS(jws).finally(() => { answered++ }))
    await vi.waitFor(() => { expect(answered).toBe(92) })
    expect(verifier.stats()).toEqual({ queued: 8, held: 2 })
    await verifier.stop()
    for (const verified of await Promise.all(all)) expect(verified.did).toBe(alice.did)
    expect(await Promise.all(kept)).toMatchObject([{ name: 'InvalidSignatureError' }, { name: 'InvalidSignatureError' }])
  })

  it.each([
    ['throws an uncaught exception', 0xee, /crashing on purpose/],
    ['exits', 0xef, /exit code 7/]
  ])('rejects what a worker that %s held with VerifierWorkerError, then replaces it', async (_how, marker, reason) => {
    const alice = keyDidSigner({ seed: randomSeed() })
    const verifier = pool({ size: 1, workerURL: crashingWorker })
    const good = await alice.createDagJWS(await cidOf('good'))
    const deadly = await withSignatureBytes(alice, marker)
    expect((await verifier.verifyDagJWS(good)).did).toBe(alice.did)

    // Queued in the same turn, so they travel in the batch that kills the worker.
    const batch = [verifier.verifyDagJWS(good), verifier.verifyDagJWS(deadly), verifier.verifyDagJWS(good)]
    for (const pending of batch) {
      const err = await expectKilnError(pending, 'VerifierWorkerError')
      expect(err.message).toMatch(reason)
    }
    expect(verifier.stats()).toEqual({ queued: 0, held: 0 })

    // A replacement answers, and it is a worker, not the calling thread: the marker kills it too.
    expect((await verifier.verifyDagJWS(good)).did).toBe(alice.did)
    await expectKilnError(verifier.verifyDagJWS(deadly), 'VerifierWorkerError')
    expect((await verifier.verifyDagJWS(good)).did).toBe(alice.did)
  })

  it('falls back to the calling thread when its worker cannot start, without trying forever', async () => {
    const alice = keyDidSigner({ seed: randomSeed() })
    const verifier = pool({ size: 1, workerURL: new URL('./fixtures/no-such-worker.mjs', import.meta.url) })
    const jws = await alice.createDagJWS(await cidOf('no worker'))
    // The first check may reach the worker before it fails to load, or find it already gone and run in-process.
    const first = await verifier.verifyDagJWS(jws).then((verified) => verified.did, (err: Error) => err.name)
    expect([alice.did, 'VerifierWorkerError']).toContain(first)
    expect((await verifier.verifyDagJWS(jws)).did).toBe(alice.did)
    await expectKilnError(verifier.verifyDagJWS(await withSignatureBytes(alice, 0x01)), 'InvalidSignatureError')
  })

  it('still answers what workers held or had yet to receive when stop() was called, and verifies in-process after it', async () => {
    const alice = keyDidSigner({ seed: randomSeed() })
    const verifier = pool({ size: 1, workerURL: crashingWorker })
    const good = await Promise.all([0, 1, 2].map(async (i) => await alice.createDagJWS(await cidOf(`stop ${i}`))))
    const held = await withSignatureBytes(alice, 0xed)
    // Two batches the worker keeps without answering fill its two slots; the third check must wait in the queue.
    const pending = [outcome(verifier.verifyDagJWS(good[0]!)), outcome(verifier.verifyDagJWS(held))]
    await vi.waitFor(() => { expect(verifier.stats()).toEqual({ queued: 0, held: 2 }) })
    pending.push(outcome(verifier.verifyDagJWS(held)))
    await vi.waitFor(() => { expect(verifier.stats()).toEqual({ queued: 0, held: 3 }) })
    pending.push(outcome(verifier.verifyDagJWS(good[1]!)))
    await vi.waitFor(() => { expect(verifier.stats()).toEqual({ queued: 1, held: 3 }) })

    await verifier.stop()
    expect(await Promise.all(pending)).toMatchObject([
      { verified: { did: alice.did } }, { name: 'InvalidSignatureError' }, { name: 'InvalidSignatureError' }, { verified: { did: alice.did } }
    ])
    expect(verifier.stats()).toEqual({ queued: 0, held: 0 })
    // No worker sees a marker any more: the calling thread checks it and finds it invalid.
    await expectKilnError(verifier.verifyDagJWS(await withSignatureBytes(alice, 0xee)), 'InvalidSignatureError')
    expect((await verifier.verifyDagJWS(good[2]!)).did).toBe(alice.did)
    await verifier.stop()
  })

  it('rejects with AbortError when the signal fires while the check waits', async () => {
    const alice = keyDidSigner({ seed: randomSeed() })
    const verifier = pool({ size: 1 })
    const jws = await alice.createDagJWS(await cidOf('abort'))
    const controller = new AbortController()
    const pending = verifier.verifyDagJWS(jws, { signal: controller.signal })
    controller.abort()
    await expectKilnError(pending, 'AbortError')
    expect((await verifier.verifyDagJWS(jws)).did).toBe(alice.did)
  })

  it('verifies in-process with size 0', async () => {
    const alice = keyDidSigner({ seed: randomSeed() })
    const verifier = pool({ size: 0, workerURL: crashingWorker })
    expect(verifier.size).toBe(0)
    await expectKilnError(verifier.verifyDagJWS(await withSignatureBytes(alice, 0xee)), 'InvalidSignatureError')
  })

  it.each([-1, 1.5, Number.NaN])('rejects a size of %s with InvalidVerifierPoolOptionError', async (size) => {
    await expectKilnError(Promise.resolve().then(() => pool({ size })), 'InvalidVerifierPoolOptionError')
  })

  it('rejects a second resolver for one method with DuplicateRegistrationError before starting any worker', async () => {
    const method = testDidMethod()
    await expectKilnError(Promise.resolve().then(() => pool({ size: 1, resolvers: [method.resolver, method.resolver] })), 'DuplicateRegistrationError')
  })

  it('does not keep the process alive once idle, even after replacing a worker, but does while a check is in flight', async () => {
    // Top-level awaits are cut short (exit code 13) if the busy worker does not hold the process; the script never
    // exits if an idle worker, or the one started in place of the crashed one, does.
    const script = `
      import { createVerifierPool, keyDidSigner, randomSeed } from '@kiln/signing'
      import { CID } from 'multiformats/cid'
      import { sha256 } from 'multiformats/hashes/sha2'
      const signer = keyDidSigner({ seed: randomSeed() })
      const pool = createVerifierPool({ size: 1, workerURL: new URL(${JSON.stringify(crashingWorker.href)}) })
      const cid = CID.create(1, 0x71, await sha256.digest(new Uint8Array([1])))
      const jws = await signer.createDagJWS(cid)
      const verified = await pool.verifyDagJWS(jws, { controllers: [signer.did] })
      console.log(verified.did === signer.did ? 'verified' : 'wrong signer')
      const deadly = { ...jws, signatures: [{ ...jws.signatures[0], signature: Buffer.alloc(64, 0xef).toString('base64url') }] }
      console.log(await pool.verifyDagJWS(deadly).then(() => 'verified', (err) => err.name))
    `
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
    onTestFinished(() => { child.kill() })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    const [code] = await once(child, 'exit')
    expect({ code, stdout: stdout.trim().split('\n') }).toEqual({ code: 0, stdout: ['verified', 'VerifierWorkerError'] })
  })
})

/** A signature by `signer` over some other input than the JWS it is put in. */
async function signatureOf (signer: DIDSigner, i: number): Promise<Uint8Array> {
  return await signer.sign(new TextEncoder().encode(`something else ${i}`))
}
