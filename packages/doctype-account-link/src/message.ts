import { DoctypeRuleError, InvalidCommitError } from '@kiln/interface'

/** The text every link message starts with: Ceramic's, so proofs made by Ceramic's auth providers verify. */
export const LINK_MESSAGE_PREFIX = 'Link this account to your identity\n\n'

/**
 * The prefix Ceramic's auth providers wrote before they switched to {@link LINK_MESSAGE_PREFIX}; links made then are
 * still in the wild, so proofs with it are read too (never written).
 */
const EARLIER_LINK_MESSAGE_PREFIX = 'Create a new account link to your identity.\n\n'

/** The text between the DID and the timestamp: a space, a newline, `Timestamp: ` — Ceramic's exact spelling. */
const TIMESTAMP_SEPARATOR = ' \nTimestamp: '

/** The longest DID a link may name. */
export const MAX_DID_LENGTH = 2048

/** The latest timestamp a proof may carry: 9999-12-31T23:59:59Z, in unix seconds. */
export const MAX_PROOF_TIMESTAMP = 253402300799

// did:method:id per DID Core: the id is idchars (ALPHA, DIGIT, . - _ and %xx) in colon-separated parts, the last non-empty
const DID = /^did:[a-z0-9]+:(?:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+$/

/** Throws `DoctypeRuleError` unless `did` is a bare DID (`did:key:z6Mk…`; no path, query or fragment). */
export function checkLinkDid (did: string): void {
  if (did.length > MAX_DID_LENGTH || !DID.test(did)) {
    const shown = JSON.stringify(did.length > 200 ? did.slice(0, 200) + '…' : did)
    throw new DoctypeRuleError(`An account can only be linked to a DID (did:method:id, at most ${MAX_DID_LENGTH} characters), got ${shown}`, {
      details: { did: did.slice(0, 200) }
    })
  }
}

/** Throws `InvalidCommitError` unless `timestamp` is a whole number of unix seconds, after 1970 and before year 10000. */
export function checkProofTimestamp (timestamp: unknown): asserts timestamp is number {
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp <= 0 || timestamp > MAX_PROOF_TIMESTAMP) {
    throw new InvalidCommitError(`A link proof's timestamp must be a whole number of unix seconds between 1 and ${MAX_PROOF_TIMESTAMP}, got ${JSON.stringify(timestamp) ?? String(timestamp)}`, {
      details: { field: 'timestamp' }
    })
  }
}

/**
 * The message an account's key signs to link it to `did` at `timestamp` (unix seconds): Ceramic's consent message,
 * `"Link this account to your identity\n\n<did> \nTimestamp: <timestamp>"`. `did` `null` or `''` makes the message
 * that unlinks the account (Ceramic's `clearDid` signs the same with an empty DID).
 */
export function linkProofMessage (did: string | null, timestamp: number): string {
  const linked = did ?? ''
  if (linked !== '') checkLinkDid(linked)
  checkProofTimestamp(timestamp)
  return linkMessageText(linked, timestamp)
}

/** The link message for `did` and `timestamp` without checking either (for error messages and parsing). */
export function linkMessageText (did: string, timestamp: number): string {
  return `${LINK_MESSAGE_PREFIX}${did}${TIMESTAMP_SEPARATOR}${timestamp}`
}

/**
 * The DID a message names (`''` for an unlink) when it is exactly {@link linkProofMessage} for some DID and
 * `timestamp` (or the same with the prefix Ceramic used before, "Create a new account link to your identity."); `undefined`
 * when it is any other text. The DID itself is not checked here.
 */
export function didOfLinkMessage (message: string, timestamp: number): string | undefined {
  const suffix = linkMessageText('', timestamp).slice(LINK_MESSAGE_PREFIX.length)
  if (!message.endsWith(suffix)) return undefined
  for (const prefix of [LINK_MESSAGE_PREFIX, EARLIER_LINK_MESSAGE_PREFIX]) {
    if (message.startsWith(prefix) && message.length >= prefix.length + suffix.length) {
      return message.slice(prefix.length, message.length - suffix.length)
    }
  }
  return undefined
}
