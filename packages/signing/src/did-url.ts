import { DIDResolutionError, InvalidSignatureError } from '@kiln/interface'

// DID Core: `did:` method-name `:` method-specific-id, where the id is idchars and colons, not ending in a colon.
const idchar = '(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})'
const DID_PATTERN = new RegExp(`^did:([a-z0-9]+):((?:${idchar}|:)*${idchar})$`)

/** A DID split into its method and method-specific id. */
export interface ParsedDID {
  did: string
  method: string
  id: string
}

/** A `kid` split into the signer's DID and the fragment naming one of its keys. */
export interface ParsedKid {
  did: string
  fragment: string
}

/** Splits a DID into method and id; throws `DIDResolutionError` when it is not DID syntax. */
export function parseDID (did: string): ParsedDID {
  const match = typeof did === 'string' ? DID_PATTERN.exec(did) : null
  if (match === null) {
    throw new DIDResolutionError(`malformed DID ${JSON.stringify(did)}: expected did:<method>:<id>`, { details: { did } })
  }
  return { did, method: match[1] as string, id: match[2] as string }
}

/**
 * Splits a JWS `kid` (a DID URL, `did:…[?query]#fragment`) into the bare DID and the key fragment. Throws
 * `InvalidSignatureError` when it has no fragment and `DIDResolutionError` when the part before it is not a DID.
 */
export function parseKid (kid: string): ParsedKid {
  const hash = kid.indexOf('#')
  const fragment = hash === -1 ? '' : kid.slice(hash + 1)
  if (fragment === '') {
    throw new InvalidSignatureError(`kid ${JSON.stringify(kid)} has no #fragment naming a key: expected did:…#keyId`, {
      details: { kid }
    })
  }
  // Path, query (dids may add `?versionId=…`) and the old `;params` qualify the DID; the signer is the DID itself.
  const didUrl = kid.slice(0, hash)
  const end = didUrl.search(/[/?;]/)
  const { did } = parseDID(end === -1 ? didUrl : didUrl.slice(0, end))
  return { did, fragment }
}
