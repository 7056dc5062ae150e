import { Cacao as DidtoolsCacao, CacaoBlock, SiweMessage } from '@didtools/cacao'
import { getEIP191Verifier } from '@didtools/pkh-ethereum'
import { decodeCacao, encodeCacao, keyDidSigner, signCacao, siweMessage, verifyCacao, type Cacao } from '@kiln/signing'
import { Wallet } from 'ethers'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'

// Ceramic's own CACAO library (@didtools/cacao, what did-session uses) as the second implementation: a CACAO made
// here verifies there, one made there verifies here, and both write the same SIWE message and the same block.

const session = keyDidSigner({ seed: new Uint8Array(32).fill(0x5e) })
const issuedAt = new Date('2026-03-01T12:00:00.000Z')
const expiresAt = new Date('2026-03-02T12:00:00.000Z')

describe('CACAOs and @didtools/cacao', () => {
  it('a CACAO made here verifies with @didtools/cacao, which writes the same EIP-55 SIWE message', async () => {
    const ours = await signCacao({ privateKey: new Uint8Array(32).fill(0x21), chainId: 1, sessionDid: session.did, resources: ['ceramic://*'], issuedAt, expiresAt, domain: 'app.example', statement: 'Give this application access to some of your data on Ceramic' })
    await DidtoolsCacao.verify(ours as unknown as DidtoolsCacao, { verifiers: getEIP191Verifier(), atTime: issuedAt })
    expect(siweMessage(ours.p)).toBe(SiweMessage.fromCacao(ours as unknown as DidtoolsCacao).signMessage({ eip55: true }))
    // The same block, byte for byte, so the same CID in the `cap` header.
    const theirs = await CacaoBlock.fromCacao(ours as unknown as DidtoolsCacao)
    expect((await encodeCacao(ours)).cid.toString()).toBe(theirs.cid.toString())
  })

  it('a CACAO made with @didtools/cacao from a SIWE message a wallet signed verifies here', async () => {
    const wallet = new Wallet(`0x${'42'.repeat(32)}`)
    const message = new SiweMessage({
      domain: 'app.example', address: wallet.address, statement: 'Give this application access to some of your data on Ceramic',
      uri: session.did, version: '1', nonce: 'abcdefgh12', issuedAt: issuedAt.toISOString(), expirationTime: expiresAt.toISOString(), chainId: '1',
      resources: ['ceramic://*']
    })
    message.signature = await wallet.signMessage(message.signMessage({ eip55: true }))
    const block = await CacaoBlock.fromCacao(DidtoolsCacao.fromSiweMessage(message))
    const decoded: Cacao = await decodeCacao(block.bytes, CID.decode(block.cid.bytes))
    expect(verifyCacao(decoded, { now: issuedAt.getTime() })).toEqual({ did: `did:pkh:eip155:1:${wallet.address}`, chainId: '1', address: wallet.address.toLowerCase() })
  })
})
