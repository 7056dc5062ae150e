/**
 * DID signing and verification for Kiln: `did:key` signers (Ed25519 → EdDSA, secp256k1 → ES256K) that sign a CID
 * as a DAG-JWS, and a verifier that resolves the `kid` through a registry of DID resolvers (`did:key` built in, other
 * methods pluggable) and checks the signature and the signer against the allowed controllers, in-process or, with
 * `createVerifierPool`, on worker threads. did:pkh accounts sign through a session key and a Sign-In with Ethereum CACAO
 * (`cacaoSessionSigner`, `verifyCacao`).
 * @packageDocumentation
 */
export { keyDidSigner, type KeyDidSignerInit } from './signer.js'
export type { KeyType } from './key-types.js'
export { didKeyFromPublicKey } from './did-key.js'
export { randomSeed, seedFromHex, seedToHex, SEED_LENGTH } from './seed.js'
export {
  signDagJWS, addSignature, signDagJWSWithAll, decodeDagJWS, signCompactJWS, decodeCompactJWS, MAX_JWS_SIGNATURES,
  type DecodedDagJWS, type DecodedSignature, type JWSSigner
} from './dag-jws.js'
export {
  asCacao, decodeCacao, encodeCacao, siweMessage, verifyCacao, checkCacaoGrant, signCacao, cacaoSessionSigner, capabilityURI,
  parseCapabilityURI, parsePkhIssuer, pkhDidOfKey, CACAO_CLOCK_SKEW_MS, MAX_CACAO_BYTES,
  type Cacao, type CacaoPayload, type VerifiedCacao, type VerifyCacaoOptions, type CacaoGrant, type SignCacaoInit, type CacaoSessionSigner
} from './cacao.js'
export { checksumAddress, ethereumMessageHash, ethereumAddressOfKey } from './ethereum.js'
export { createVerifier, type VerifierInit, type KilnVerifier, type VerifiedCompactJWS } from './verifier.js'
export { createThreadpoolVerifier } from './threadpool-verifier.js'
export { createVerifierPool } from '#platform/verifier-pool'
export type { VerifierPoolInit, KilnVerifierPool, VerifierPoolStats } from './verifier-pool.js'
export { VerifierWorkerError, InvalidVerifierPoolOptionError } from './errors.js'
export { resolverRegistry, type ResolverRegistry } from './resolver-registry.js'
export { keyDidResolver, type KeyDidResolverInit } from './key-did-resolver.js'
export { parseDID, parseKid, type ParsedDID, type ParsedKid } from './did-url.js'
