import { generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { describe } from 'vitest'
import { CID } from 'multiformats/cid'
import { base64url } from 'multiformats/bases/base64'
import { InvalidSignatureError, UnauthorizedSignerError, DIDResolutionError } from '@kiln/interface'
import type { DagJWS, DIDSigner, SignatureVerifier, VerifyOptions, VerifiedSignature } from '@kiln/interface'
import { signerTests } from '@kiln/interface-tests'

// A second, deliberately independent implementation of the contracts (node:crypto Ed25519, a made-up did:example
// method) so the suite is shown to test the contracts, not the details of @kiln/signing.
const utf8 = new TextEncoder()
const keys = new Map<string, KeyObject>()

function exampleSigner (name: string): DIDSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const did = `did:example:${name}`
  const kid = `${did}#key-1`
  keys.set(kid, publicKey)
  const signBytes = async (input: Uint8Array): Promise<Uint8Array> => new Uint8Array(sign(null, input, privateKey))
  return {
    did,
    kid,
    alg: 'EdDSA',
    sign: signBytes,
    async createDagJWS (cid: CID): Promise<DagJWS> {
      const header = base64url.baseEncode(utf8.encode(JSON.stringify({ alg: 'EdDSA', kid })))
      const payload = base64url.baseEncode(cid.bytes)
      const signature = await signBytes(utf8.encode(`${header}.${payload}`))
      return { payload, signatures: [{ protected: header, signature: base64url.baseEncode(signature) }], link: cid }
    }
  }
}

const exampleVerifier: SignatureVerifier = {
  async verifyDagJWS (jws: DagJWS, options: VerifyOptions = {}): Promise<VerifiedSignature> {
    const [entry] = jws.signatures
    if (jws.signatures.length !== 1 || entry === undefined) throw new InvalidSignatureError('expected one signature')
    let header: { kid?: unknown }
    let payload: CID
    try {
      header = JSON.parse(new TextDecoder().decode(base64url.baseDecode(entry.protected)))
      payload = CID.decode(base64url.baseDecode(jws.payload))
    } catch (cause) {
      throw new InvalidSignatureError('malformed JWS', { cause })
    }
    if (typeof header?.kid !== 'string') throw new InvalidSignatureError('no kid')
    const kid = header.kid
    const did = kid.split('#')[0] ?? ''
    if (options.controllers !== undefined && !options.controllers.includes(did)) throw new UnauthorizedSignerError(`${did} may not sign`)
    const key = keys.get(kid)
    if (key === undefined) throw new DIDResolutionError(`unknown key ${kid}`)
    const input = utf8.encode(`${entry.protected}.${jws.payload}`)
    if (!verify(null, input, key, base64url.baseDecode(entry.signature))) throw new InvalidSignatureError(`bad signature by ${kid}`)
    if (jws.link !== undefined && !payload.equals(jws.link)) throw new InvalidSignatureError('link is not the payload')
    return { did, kid, payload, signers: [{ did, kid }] }
  }
}

const alice = exampleSigner('alice')
const bob = exampleSigner('bob')

describe('an independent node:crypto implementation', () => {
  signerTests({ setup: () => ({ signer: alice, otherSigner: bob, verifier: exampleVerifier }) })
})
