import { DoctypeRuleError, InvalidCommitError, InvalidSignatureError, isKilnError } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { parseAccountId, type AccountId } from './account-id.js'
import { BITCOIN_NETWORKS, bitcoinSignerAddresses } from './bitcoin.js'
import { BITCOIN, ETHEREUM_EOA, LINK_PROOF_VERSION, type LinkProofType } from './constants.js'
import { InvalidAccountIdError } from './errors.js'
import { recoverEthereumAddress } from './ethereum.js'
import { checkLinkDid, checkProofTimestamp, didOfLinkMessage, linkMessageText, linkProofMessage } from './message.js'

/**
 * The proof an update carries: Ceramic's LinkProof v2. The account's key signed `message`, which names the DID and
 * the timestamp. `did` is optional (Ceramic's clients leave it out and read the DID from the message); when present it
 * must be the DID the message names.
 */
export interface LinkProof {
  version: typeof LINK_PROOF_VERSION
  type: LinkProofType
  /** Exactly {@link linkProofMessage}`(did, timestamp)`. */
  message: string
  /** `0x` hex r ‖ s ‖ v for Ethereum; base64 of the 65-byte BIP-137 signature for Bitcoin. */
  signature: string
  /** The CAIP-10 account (`eip155:1:0xab…`). */
  account: string
  /** Unix seconds; also in the message. */
  timestamp: number
  /** The DID the message names; `''` for an unlink. */
  did?: string
}

/** What a proof says once its form and signature are checked. */
export interface LinkClaim {
  account: AccountId
  /** The linked DID, or `null` for an unlink. */
  did: string | null
  timestamp: number
}

/** The longest message a proof may carry: the prefix, a DID of the longest length and a timestamp fit well within. */
export const MAX_LINK_MESSAGE_LENGTH = 4096

const PROOF_FIELDS = new Set(['version', 'type', 'message', 'signature', 'account', 'timestamp', 'did'])

function malformed (reason: string, field?: string): never {
  throw new InvalidCommitError(`Malformed link proof: ${reason}`, { details: field === undefined ? {} : { field } })
}

/** `account A and DID d` (or `… and no DID (an unlink)`), for messages. */
export function describeLink (account: AccountId | string, did: string | null): string {
  const name = typeof account === 'string' ? account : account.caip10
  return `account ${name} and ${did === null ? 'no DID (an unlink)' : `DID ${did}`}`
}

/** A value for a message, cut to 200 characters: a proof's fields may be long. */
function clip (value: string): string {
  return value.length > 200 ? value.slice(0, 200) + '…' : value
}

function readAccount (value: string): AccountId {
  try {
    return parseAccountId(value)
  } catch (err) {
    if (!isKilnError(err, 'InvalidAccountIdError')) throw err
    throw new InvalidCommitError(`Malformed link proof: ${err.message}`, { cause: err, details: { field: 'account' } })
  }
}

/**
 * Checks a proof's form without its signature: the fields of a v2 LinkProof, a supported account whose chain matches
 * `type`, a message that is exactly the link message for its timestamp, a DID that is a DID, and `did` (when present)
 * equal to the message's. Throws `InvalidCommitError` for a malformed proof, `DoctypeRuleError` for a broken rule.
 */
export function readLinkProof (value: unknown): LinkClaim & { proof: LinkProof } {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array || CID.asCID(value) !== null) {
    malformed('an update\'s data must be a LinkProof map {version, type, message, signature, account, timestamp}')
  }
  const fields = value as Record<string, unknown>
  const extra = Object.keys(fields).filter((key) => !PROOF_FIELDS.has(key))
  if (extra.length > 0) malformed(`unknown fields ${extra.map((k) => JSON.stringify(k)).join(', ')}`, extra[0])
  const { version, type, message, signature, account, timestamp, did } = fields
  if (version !== LINK_PROOF_VERSION) malformed(`version must be ${LINK_PROOF_VERSION} (v1 proofs name no CAIP-10 account), got ${JSON.stringify(version) ?? typeof version}`, 'version')
  if (type === 'erc1271') {
    throw new DoctypeRuleError('Link proofs of contract wallets (erc1271) are not supported: checking them needs a call to the chain, and every node must reach the same verdict from the log alone', {
      details: { type }
    })
  }
  if (type !== ETHEREUM_EOA && type !== BITCOIN) malformed(`type must be "${ETHEREUM_EOA}" or "${BITCOIN}", got ${JSON.stringify(type) ?? typeof type}`, 'type')
  if (typeof message !== 'string' || message.length > MAX_LINK_MESSAGE_LENGTH) malformed(`message must be a string of at most ${MAX_LINK_MESSAGE_LENGTH} characters`, 'message')
  if (typeof signature !== 'string' || signature.length > 200) malformed('signature must be a string of at most 200 characters', 'signature')
  if (typeof account !== 'string') malformed('account must be a CAIP-10 account id string', 'account')
  if (did !== undefined && typeof did !== 'string') malformed('did, when present, must be a string', 'did')
  checkProofTimestamp(timestamp)
  const parsed = readAccount(account)
  const expected = parsed.namespace === 'eip155' ? ETHEREUM_EOA : BITCOIN
  if (type !== expected) malformed(`a ${JSON.stringify(type)} proof cannot be for the ${parsed.namespace} account ${parsed.caip10}; its type must be "${expected}"`, 'type')

  const named = didOfLinkMessage(message, timestamp)
  if (named === undefined) {
    const claimed = typeof did === 'string' ? clip(did) : '<the DID>'
    throw new DoctypeRuleError(
      `The link proof for account ${parsed.caip10} does not sign the link message for timestamp ${timestamp}: it must be exactly ${JSON.stringify(linkMessageText(claimed, timestamp))}`,
      { details: { account: parsed.caip10, timestamp } }
    )
  }
  if (named !== '') checkLinkDid(named)
  const linked = named === '' ? null : named
  if (did !== undefined && did !== named) {
    throw new DoctypeRuleError(
      `The link proof of account ${parsed.caip10} was signed for ${named === '' ? 'no DID (an unlink)' : `DID ${named}`} and cannot link ${did === '' ? 'no DID' : `DID ${clip(did)}`}`,
      { details: { account: parsed.caip10, did: named, claimed: clip(did) } }
    )
  }
  const proof: LinkProof = { version: LINK_PROOF_VERSION, type, message, signature, account, timestamp }
  if (did !== undefined) proof.did = did
  return { account: parsed, did: linked, timestamp, proof }
}

/**
 * Checks that the proof's signature was made by its account's own key: the Ethereum address recovered from the
 * EIP-191 signature, or one of the Bitcoin addresses of the key recovered from the BIP-137 signature, is the account's.
 * Throws `InvalidSignatureError` naming the account and the DID.
 */
export function checkLinkSignature (claim: LinkClaim & { proof: LinkProof }): void {
  const { account, did, proof } = claim
  let signers: string[]
  try {
    signers = account.namespace === 'eip155'
      ? [recoverEthereumAddress(proof.message, proof.signature)]
      : bitcoinSignerAddresses(proof.message, proof.signature, BITCOIN_NETWORKS[account.reference]!.network)
  } catch (err) {
    if (!isKilnError(err, 'InvalidSignatureError')) throw err
    throw new InvalidSignatureError(`The link proof for ${describeLink(account, did)} has an unusable signature: ${err.message}`, {
      cause: err, details: { account: account.caip10, did }
    })
  }
  if (!signers.includes(account.address)) {
    throw new InvalidSignatureError(
      `The link proof for ${describeLink(account, did)} is not signed by the account's key: the signing key's address is ${signers.join(' / ')}, not ${account.address}`,
      { details: { account: account.caip10, did, signer: signers[0] } }
    )
  }
}

/**
 * Verifies a link proof on its own, as a node does before the document's rules (account, replay) are applied: its
 * form, its message and its signature. Returns what it proves.
 */
export function verifyLinkProof (proof: unknown): LinkClaim {
  const claim = readLinkProof(proof)
  checkLinkSignature(claim)
  return { account: claim.account, did: claim.did, timestamp: claim.timestamp }
}

/** What a client gives to build a link proof. */
export interface LinkProofInit {
  /** The CAIP-10 account whose key signs (checksummed or lower case for Ethereum). */
  account: string | AccountId
  /** The DID to link; `null` (or `''`) unlinks the account. */
  did: string | null
  /** Unix seconds; default now. Must be later than the document's current proof. */
  timestamp?: number
  /** Signs the message with the account's key: `(m) => wallet.signMessage(m)` for ethers; base64 BIP-137 for Bitcoin. */
  sign: (message: string) => Promise<string>
}

async function makeLinkProof (init: LinkProofInit, type: LinkProofType): Promise<LinkProof> {
  const account = parseAccountId(typeof init.account === 'string' ? init.account : init.account.caip10)
  const namespace = type === ETHEREUM_EOA ? 'eip155' : 'bip122'
  if (account.namespace !== namespace) {
    throw new InvalidAccountIdError(`A ${type} link proof needs a ${namespace} account, got ${account.caip10}`, { details: { value: account.caip10 } })
  }
  const did = init.did ?? ''
  const timestamp = init.timestamp ?? Math.floor(Date.now() / 1000)
  const message = linkProofMessage(did, timestamp)
  const signature = await init.sign(message)
  if (typeof signature !== 'string') {
    throw new InvalidSignatureError(`The signer of the link proof for ${describeLink(account, did === '' ? null : did)} returned ${typeof signature}, not a string`)
  }
  const proof: LinkProof = { version: LINK_PROOF_VERSION, type, message, signature, account: account.caip10, timestamp, did }
  // a wrong key or wallet fails here, before anything is sent
  checkLinkSignature(readLinkProof(proof))
  return proof
}

/**
 * Builds a proof that an Ethereum account links to `did`: `sign` gets the message and returns a `personal_sign`
 * signature (`0x…`), e.g. `(m) => wallet.signMessage(m)` with ethers. Throws `InvalidSignatureError` when the
 * signature is not the account's.
 */
export async function ethereumLinkProof (init: LinkProofInit): Promise<LinkProof> {
  return await makeLinkProof(init, ETHEREUM_EOA)
}

/**
 * Builds a proof that a Bitcoin account (P2PKH, P2SH-P2WPKH or P2WPKH) links to `did`: `sign` gets the message and
 * returns its BIP-137 signature in base64, as Bitcoin Core's `signmessage` and wallets' "sign message" do. Throws
 * `InvalidSignatureError` when the signature is not the account's key's.
 */
export async function bitcoinLinkProof (init: LinkProofInit): Promise<LinkProof> {
  return await makeLinkProof(init, BITCOIN)
}
