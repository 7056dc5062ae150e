import { InvalidKeyError, type DIDSigner } from '@kiln/interface'
import { signDagJWS } from './dag-jws.js'
import { didKeyFromPublicKey } from './did-key.js'
import { keyTypes, type KeyType } from './key-types.js'
import { checkSeed } from './seed.js'

/** Options of {@link keyDidSigner}. */
export interface KeyDidSignerInit {
  /** 32 bytes: the Ed25519 seed, or the secp256k1 private key. Copied, so the caller may wipe its own. */
  seed: Uint8Array
  /** Defaults to `ed25519`, what Ceramic's `key-did-provider-ed25519` uses. */
  type?: KeyType
}

/** Creates a `did:key` signer (Ed25519 → EdDSA, secp256k1 → ES256K) from a 32-byte seed. */
export function keyDidSigner (init: KeyDidSignerInit): DIDSigner {
  const type = init.type ?? 'ed25519'
  const spec = Object.hasOwn(keyTypes, type) ? keyTypes[type] : undefined
  if (spec === undefined) throw new InvalidKeyError(`unknown key type ${JSON.stringify(type)}: use ed25519 or secp256k1`)
  const seed = Uint8Array.from(checkSeed(init.seed))
  let publicKey: Uint8Array
  try {
    publicKey = spec.publicKey(seed)
  } catch (cause) {
    // Only secp256k1 can fail here: the seed is 0 or not below the group order.
    throw new InvalidKeyError(`seed is not a valid ${type} private key`, { cause })
  }
  const did = didKeyFromPublicKey(type, publicKey)
  const alg = spec.alg
  // did:key documents name their one signing key by the multibase key itself: did:key:z…#z…
  const kid = `${did}#${did.slice('did:key:'.length)}`
  const signWithKey = spec.signerFor(seed)
  const sign = async (signingInput: Uint8Array): Promise<Uint8Array> => await signWithKey(signingInput)
  const signer: DIDSigner = {
    did,
    kid,
    alg,
    sign,
    createDagJWS: async (payload) => await signDagJWS({ alg, kid, sign }, payload)
  }
  return Object.freeze(signer)
}
