import { encodeRecord } from '@kiln/codec'
import {
  CACAO_CLOCK_SKEW_MS, cacaoSessionSigner, checkCacaoGrant, createVerifier, decodeCacao, decodeDagJWS, encodeCacao, keyDidSigner,
  parseCapabilityURI, pkhDidOfKey, signCacao, siweMessage, verifyCacao, type Cacao, type CacaoPayload
} from '@kiln/signing'
import { fc, fuzzInputs, fuzzTest, mutatedBytes } from '@kiln/interface-tests/fuzz'
import { Wallet, verifyMessage } from 'ethers'
import { describe, expect, it } from 'vitest'
import { cidOf, expectKilnError } from './fixtures/jws.js'

const privateKey = new Uint8Array(32).fill(0x0e)
const otherKey = new Uint8Array(32).fill(0x0f)
const session = keyDidSigner({ seed: new Uint8Array(32).fill(0x5e) })
const issuedAt = new Date('2026-03-01T12:00:00.000Z')
const expiresAt = new Date('2026-03-02T12:00:00.000Z')
const DOC = 'kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s'

async function cacao (overrides: Partial<Parameters<typeof signCacao>[0]> = {}): Promise<Cacao> {
  return await signCacao({ privateKey, chainId: 1, sessionDid: session.did, resources: ['ceramic://*'], issuedAt, expiresAt, domain: 'app.example', nonce: 'n0nce', ...overrides })
}

/** The CACAO with its signature's first byte changed. */
function tampered (c: Cacao): Cacao {
  const hex = c.s.s
  return { ...c, s: { t: 'eip191', s: `0x${hex[2] === 'a' ? 'b' : 'a'}${hex.slice(3)}` } }
}

describe('siweMessage', () => {
  it('writes the EIP-4361 example message exactly', () => {
    const payload: CacaoPayload = {
      domain: 'service.invalid',
      iss: 'did:pkh:eip155:1:0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
      aud: 'https://service.invalid/login',
      version: '1',
      nonce: '32891756',
      iat: '2021-09-30T16:25:24Z',
      statement: 'I accept the ServiceOrg Terms of Service: https://service.invalid/tos',
      resources: ['ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/', 'https://example.com/my-web2-claim.json']
    }
    expect(siweMessage(payload)).toBe([
      'service.invalid wants you to sign in with your Ethereum account:',
      '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2',
      '',
      'I accept the ServiceOrg Terms of Service: https://service.invalid/tos',
      '',
      'URI: https://service.invalid/login',
      'Version: 1',
      'Chain ID: 1',
      'Nonce: 32891756',
      'Issued At: 2021-09-30T16:25:24Z',
      'Resources:',
      '- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/',
      '- https://example.com/my-web2-claim.json'
    ].join('\n'))
  })

  it('checksums a lower-case issuer address, and leaves out an absent statement but not the blank line after it', () => {
    const message = siweMessage({ domain: 'd', iss: 'did:pkh:eip155:5:0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2', aud: 'did:key:z', version: '1', nonce: 'n', iat: '2021-09-30T16:25:24Z', exp: '2021-10-01T16:25:24Z' })
    expect(message).toBe('d wants you to sign in with your Ethereum account:\n0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\n\nURI: did:key:z\nVersion: 1\nChain ID: 5\nNonce: n\nIssued At: 2021-09-30T16:25:24Z\nExpiration Time: 2021-10-01T16:25:24Z')
  })
})

describe('signCacao and verifyCacao', () => {
  it('makes a CACAO whose signature ethers recovers to the issuer address (a real personal_sign)', async () => {
    const made = await cacao()
    const wallet = new Wallet(`0x${Buffer.from(privateKey).toString('hex')}`)
    expect(made.p.iss).toBe(`did:pkh:eip155:1:${wallet.address}`)
    expect(pkhDidOfKey(privateKey)).toBe(made.p.iss)
    expect(verifyMessage(siweMessage(made.p), made.s.s)).toBe(wallet.address)
  })

  it('accepts a CACAO a wallet (ethers) signed over the SIWE message', async () => {
    const wallet = new Wallet(`0x${Buffer.from(otherKey).toString('hex')}`)
    const p: CacaoPayload = { domain: 'app.example', iss: `did:pkh:eip155:137:${wallet.address}`, aud: session.did, version: '1', nonce: 'abc', iat: issuedAt.toISOString(), exp: expiresAt.toISOString(), resources: ['ceramic://*'] }
    const signed: Cacao = { h: { t: 'eip4361' }, p, s: { t: 'eip191', s: await wallet.signMessage(siweMessage(p)) } }
    expect(verifyCacao(signed, { now: issuedAt.getTime() })).toEqual({ did: p.iss, chainId: '137', address: wallet.address.toLowerCase() })
  })

  it('accepts a CACAO within its validity and the clock skew, and names why it refuses one outside it', async () => {
    const made = await cacao()
    expect(verifyCacao(made, { now: issuedAt.getTime() }).did).toBe(made.p.iss)
    expect(verifyCacao(made, { now: expiresAt.getTime() + CACAO_CLOCK_SKEW_MS }).did).toBe(made.p.iss)
    const expired = expect(() => verifyCacao(made, { now: expiresAt.getTime() + CACAO_CLOCK_SKEW_MS + 1 }))
    expired.toThrow(expect.objectContaining({ name: 'InvalidCapabilityError', details: expect.objectContaining({ reason: 'expired' }) }))
    expect(() => verifyCacao(made, { now: issuedAt.getTime() - CACAO_CLOCK_SKEW_MS - 1 }))
      .toThrow(expect.objectContaining({ name: 'InvalidCapabilityError', details: expect.objectContaining({ reason: 'not-yet-valid' }) }))
  })

  it('refuses a tampered signature, a changed payload and a non-pkh issuer, naming each', async () => {
    const made = await cacao()
    const reason = (c: Cacao): unknown => { try { verifyCacao(c, { now: issuedAt.getTime() }); return 'accepted' } catch (err) { return [(err as Error).name, (err as { details: { reason: string } }).details.reason] } }
    expect(reason(tampered(made))).toEqual(['InvalidCapabilityError', 'signature'])
    expect(reason({ ...made, p: { ...made.p, resources: ['ceramic://*', 'ceramic://more'] } })).toEqual(['InvalidCapabilityError', 'signature'])
    expect(reason({ ...made, p: { ...made.p, iss: pkhDidOfKey(otherKey) } })).toEqual(['InvalidCapabilityError', 'signature'])
    expect(reason({ ...made, p: { ...made.p, iss: 'did:key:z6Mk' } })).toEqual(['InvalidCapabilityError', 'issuer'])
    expect(reason({ ...made, s: { t: 'eip191', s: '0x1234' } })).toEqual(['InvalidCapabilityError', 'signature'])
  })

  it('checks the audience and the resources a commit needs', async () => {
    const made = await cacao({ resources: [`ceramic://${DOC}`] })
    checkCacaoGrant(made, { audience: session.did, docId: DOC })
    const reasonOf = (fn: () => void): unknown => { try { fn(); return 'accepted' } catch (err) { return (err as { details: { reason: string } }).details.reason } }
    expect(reasonOf(() => { checkCacaoGrant(made, { audience: 'did:key:zOther', docId: DOC }) })).toBe('audience')
    expect(reasonOf(() => { checkCacaoGrant(made, { audience: session.did, docId: 'kjzl6other' }) })).toBe('resource')
    // a genesis has no DocID yet: only ceramic://* grants one
    expect(reasonOf(() => { checkCacaoGrant(made, { audience: session.did }) })).toBe('resource')
    checkCacaoGrant(await cacao(), { audience: session.did })
  })
})

describe('encodeCacao and decodeCacao', () => {
  it('round-trips a CACAO through its dag-cbor block, checked against its CID', async () => {
    const made = await cacao({ statement: 'Give this app access' })
    const block = await encodeCacao(made)
    expect(await decodeCacao(block.bytes, block.cid)).toEqual(made)
    await expectKilnError(decodeCacao(block.bytes, await cidOf('other')), 'InvalidCapabilityError')
  })

  it('refuses blocks that are not a SIWE CACAO with InvalidCapabilityError', async () => {
    const made = await cacao()
    for (const value of [{}, { ...made, h: { t: 'caip122' } }, { ...made, s: { t: 'eip1271', s: '0x' } }, { ...made, p: { ...made.p, iat: 'yesterday' } }, { ...made, p: { ...made.p, resources: [1] } }, [made]]) {
      await expectKilnError(decodeCacao((await encodeRecord(value)).bytes), 'InvalidCapabilityError')
    }
    await expectKilnError(decodeCacao(new Uint8Array([0xff, 0x00])), 'InvalidCapabilityError')
  })
})

describe('cacaoSessionSigner', () => {
  it('signs as the did:pkh with the session key, naming the CACAO in each protected header', async () => {
    const made = await cacao()
    const signer = await cacaoSessionSigner(made, session)
    expect(signer.did).toBe(made.p.iss)
    expect(signer.kid).toBe(session.kid)
    expect(parseCapabilityURI(signer.cap).equals(signer.cacaoBlock.cid)).toBe(true)
    const cid = await cidOf('session')
    const jws = await signer.createDagJWS(cid)
    expect(decodeDagJWS(jws).cap).toBe(signer.cap)
    const verified = await createVerifier().verifyDagJWS(jws)
    expect(verified.signers).toEqual([{ did: session.did, kid: session.kid, capability: signer.cap }])
  })

  it('refuses a CACAO granted to another session key', async () => {
    const other = keyDidSigner({ seed: new Uint8Array(32).fill(0x77) })
    await expectKilnError(cacaoSessionSigner(await cacao(), other), 'InvalidCapabilityError')
  })
})

describe('decodeCacao under fuzzing', async () => {
  const valid = await Promise.all([cacao(), cacao({ statement: 'with a statement' }), cacao({ resources: [`ceramic://${DOC}`, 'ceramic://*'], notBefore: issuedAt })])
  const blocks = await Promise.all(valid.map(encodeCacao))
  fuzzTest({
    name: 'signing.cacao',
    inputs: fuzzInputs(fc.constantFrom(...blocks.map((b) => b.bytes)), mutatedBytes, fc.uint8Array({ maxLength: 300 })),
    run: async (bytes) => verifyCacao(await decodeCacao(bytes), { now: issuedAt.getTime() }),
    errors: ['InvalidCapabilityError'],
    // what is accepted is one of the CACAOs signed here: any change to a signed CACAO breaks its signature
    accepted: async (bytes) => {
      const decoded = await decodeCacao(bytes)
      expect(valid).toContainEqual(decoded)
    },
    runs: 2000
  })
})
