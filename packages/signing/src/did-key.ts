import { InvalidKeyError } from '@kiln/interface'
import { varint } from 'multiformats'
import { base58btc } from 'multiformats/bases/base58'
import { keyTypes, type KeyType } from './key-types.js'

/** Encodes a public key as a `did:key`: base58btc (multibase `z`) of the key type's multicodec varint and the key. */
export function didKeyFromPublicKey (type: KeyType, publicKey: Uint8Array): string {
  const spec = keyTypes[type]
  if (spec === undefined) throw new InvalidKeyError(`unknown key type "${String(type)}": use ed25519 or secp256k1`)
  if (!spec.isValidPublicKey(publicKey)) throw new InvalidKeyError(`not a valid ${type} public key (${publicKey.length} bytes)`)
  const prefixLength = varint.encodingLength(spec.multicodec)
  const bytes = new Uint8Array(prefixLength + publicKey.length)
  varint.encodeTo(spec.multicodec, bytes)
  bytes.set(publicKey, prefixLength)
  return `did:key:${base58btc.encode(bytes)}`
}
