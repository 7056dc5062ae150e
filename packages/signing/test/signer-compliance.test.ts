import { afterAll, describe } from 'vitest'
import { signerTests } from '@kiln/interface-tests'
import { createVerifier, createVerifierPool, keyDidSigner, seedFromHex, type KeyType } from '@kiln/signing'

// Fixed seeds: the suite checks that setting up twice gives the same DID.
const seed = seedFromHex('0101010101010101010101010101010101010101010101010101010101010101')
const otherSeed = seedFromHex('0202020202020202020202020202020202020202020202020202020202020202')

for (const type of ['ed25519', 'secp256k1'] as KeyType[]) {
  describe(`${type} did:key signer`, () => {
    signerTests({
      setup: () => ({
        signer: keyDidSigner({ seed, type }),
        otherSigner: keyDidSigner({ seed: otherSeed, type }),
        verifier: createVerifier()
      })
    })
  })
}

describe('ed25519 signer beside a secp256k1 signer of the same seed', () => {
  signerTests({
    setup: () => ({
      signer: keyDidSigner({ seed, type: 'ed25519' }),
      otherSigner: keyDidSigner({ seed, type: 'secp256k1' }),
      verifier: createVerifier()
    })
  })
})

describe('did:key signers checked by a verifier pool with one worker', () => {
  // One pool for the suite: it is stateless between verifications, and a worker per test would only add start-ups.
  const pool = createVerifierPool({ size: 1 })
  afterAll(async () => { await pool.stop() })
  for (const type of ['ed25519', 'secp256k1'] as KeyType[]) {
    describe(type, () => {
      signerTests({
        setup: () => ({
          signer: keyDidSigner({ seed, type }),
          otherSigner: keyDidSigner({ seed: otherSeed, type }),
          verifier: pool
        })
      })
    })
  }
})
