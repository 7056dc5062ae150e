// Raw Ed25519 sign/verify rates of this machine (node:crypto's OpenSSL, which Kiln signs and verifies Ed25519 with,
// and the pure-JS @noble/curves for reference), against Kiln's sign+encode and verify+decode of a small commit.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import { decodeJWS, decodeRecord, encodeRecord, signRecord } from '@kiln/codec'
import { createVerifier, keyDidSigner } from '@kiln/signing'
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
}
