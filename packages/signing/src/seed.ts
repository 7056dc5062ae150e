import { InvalidKeyError } from '@kiln/interface'
import { randomBytes } from '@noble/hashes/utils'
import { base16 } from 'multiformats/bases/base16'

/** Length in bytes of every seed a Kiln signer accepts (an Ed25519 seed or a secp256k1 private key). */
export const SEED_LENGTH = 32

/** Returns a new 32-byte seed from the platform's cryptographic random source. */
export function randomSeed (): Uint8Array {
  return randomBytes(SEED_LENGTH)
}

/** Parses a 64-character hex seed (as given to `--seed <hex>`), with or without `0x`, in either case. */
export function seedFromHex (hex: string): Uint8Array {
  // Messages give lengths, never the value: a seed is a secret and errors end up in logs.
  const digits = hex.trim().replace(/^0x/i, '').toLowerCase()
  if (!/^[0-9a-f]*$/.test(digits)) {
    throw new InvalidKeyError('seed is not hexadecimal: use 64 characters 0-9a-f (32 bytes)')
  }
  if (digits.length !== SEED_LENGTH * 2) {
    throw new InvalidKeyError(`seed must be ${SEED_LENGTH * 2} hex characters (${SEED_LENGTH} bytes), got ${digits.length} characters`, {
      details: { length: digits.length }
    })
  }
  return base16.baseDecode(digits)
}

/** Formats a seed as 64 lowercase hex characters, the form {@link seedFromHex} reads back. */
export function seedToHex (seed: Uint8Array): string {
  return base16.baseEncode(checkSeed(seed))
}

/** Returns `seed` when it is 32 bytes; throws `InvalidKeyError` otherwise. */
export function checkSeed (seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array)) {
    throw new InvalidKeyError(`seed must be a Uint8Array of ${SEED_LENGTH} bytes, got ${seed === null ? 'null' : typeof seed}`)
  }
  if (seed.length !== SEED_LENGTH) {
    throw new InvalidKeyError(`seed must be ${SEED_LENGTH} bytes, got ${seed.length}`, { details: { length: seed.length } })
  }
  return seed
}
