import { InvalidSignatureError } from '@kiln/interface'
import { secp256k1 } from '@noble/curves/secp256k1'

/**
 * The secp256k1 public key (compressed or not) that made the 64-byte compact signature `rs` with recovery id
 * `recovery` over `hash`. Wallets sign with low `s` (EIP-2, libsecp256k1): a high `s` is refused, so a proof has one
 * encoding. Throws `InvalidSignatureError` starting with `what`.
 */
export function recoverKey (rs: Uint8Array, recovery: number, hash: Uint8Array, compressed: boolean, what: string): Uint8Array {
  let signature: ReturnType<typeof secp256k1.Signature.fromCompact>
  try {
    signature = secp256k1.Signature.fromCompact(rs)
  } catch (cause) {
    throw new InvalidSignatureError(`${what} is not a valid secp256k1 signature: ${(cause as Error).message}`, { cause })
  }
  if (signature.hasHighS()) {
    throw new InvalidSignatureError(`${what} has a high s value; wallets sign with low s (EIP-2, BIP-62), so it is refused`)
  }
  try {
    return signature.addRecoveryBit(recovery).recoverPublicKey(hash).toRawBytes(compressed)
  } catch (cause) {
    throw new InvalidSignatureError(`${what} recovers no public key: ${(cause as Error).message}`, { cause })
  }
}
