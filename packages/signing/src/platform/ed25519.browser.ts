// Ed25519 in a browser: WebCrypto (`crypto.subtle`, native in Chromium, Firefox and Safari), with @noble/curves when
// the platform has no Ed25519 in WebCrypto. Chosen over ed25519.node.ts by the `browser` condition of package.json's
// `imports`, so a bundle for the browser never sees node:crypto.
import type { webcrypto } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519'
import { bytesToHex } from '@noble/hashes/utils'

// Types only (erased from the output): the DOM's CryptoKey, as @types/node declares it.
type CryptoKey = webcrypto.CryptoKey

/** Whether WebCrypto here signs and verifies Ed25519; probed once, on first use. */
let webCrypto: Promise<boolean> | undefined

function hasWebCryptoEd25519 (): Promise<boolean> {
  webCrypto ??= (async () => {
    try {
      const subtle = globalThis.crypto?.subtle
      if (subtle === undefined) return false
      await subtle.importKey('raw', ed25519.getPublicKey(new Uint8Array(32)), { name: 'Ed25519' }, false, ['verify'])
      return true
    } catch {
      return false
    }
  })()
  return webCrypto
}

const publicKeys = new Map<string, Promise<CryptoKey>>()
const PUBLIC_KEY_CACHE = 1024

function publicCryptoKey (publicKey: Uint8Array): Promise<CryptoKey> {
  const id = bytesToHex(publicKey)
  let key = publicKeys.get(id)
  if (key === undefined) {
    key = crypto.subtle.importKey('raw', Uint8Array.from(publicKey), { name: 'Ed25519' }, false, ['verify'])
    if (publicKeys.size >= PUBLIC_KEY_CACHE) publicKeys.delete(publicKeys.keys().next().value!)
    publicKeys.set(id, key)
    // A key WebCrypto refuses is not cached: the next call imports it again and fails the same way.
    key.catch(() => publicKeys.delete(id))
  }
  return key
}

/** Prepares the private key once and returns the function that signs with it. */
export function ed25519Signer (seed: Uint8Array): (input: Uint8Array) => Promise<Uint8Array> {
  const secret = Uint8Array.from(seed)
  let key: Promise<CryptoKey | undefined> | undefined
  const prepare = async (): Promise<CryptoKey | undefined> => {
    if (!await hasWebCryptoEd25519()) return undefined
    // WebCrypto imports an Ed25519 private key as PKCS#8 only: the seed behind its fixed 16-byte DER prefix.
    const pkcs8 = new Uint8Array(PKCS8_ED25519_PREFIX.length + 32)
    pkcs8.set(PKCS8_ED25519_PREFIX)
    pkcs8.set(secret, PKCS8_ED25519_PREFIX.length)
    return await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign'])
  }
  return async (input) => {
    key ??= prepare()
    const cryptoKey = await key
    if (cryptoKey === undefined) return ed25519.sign(input, secret)
    return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, cryptoKey, Uint8Array.from(input)))
  }
}

/** RFC 8032 verification: WebCrypto, or @noble/curves where WebCrypto has no Ed25519. */
export async function ed25519Verify (publicKey: Uint8Array, input: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (signature.length !== 64) return false
  if (!await hasWebCryptoEd25519()) return ed25519.verify(signature, input, publicKey, { zip215: false })
  try {
    return await crypto.subtle.verify({ name: 'Ed25519' }, await publicCryptoKey(publicKey), Uint8Array.from(signature), Uint8Array.from(input))
  } catch {
    return false
  }
}

/** In a browser there is no thread pool to queue on: the same as {@link ed25519Verify}, which WebCrypto runs natively. */
export const verifyEd25519OffThread = ed25519Verify

const PKCS8_ED25519_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])

