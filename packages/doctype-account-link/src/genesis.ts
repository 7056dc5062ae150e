import { asGenesisRecord, encodeRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { DoctypeRuleError, InvalidCommitError, isKilnError, type Block, type DoctypeResult, type GenesisRecord } from '@kiln/interface'
import { parseAccountId, type AccountId } from './account-id.js'
import { ACCOUNT_LINK_NAME } from './constants.js'

/** The content of an account link: the linked DID, or `null` before the first link and after an unlink. */
export type AccountLinkContent = string | null

/** An account link's genesis: the unsigned record, its dag-cbor block, the DocID it gives and the account. */
export interface AccountLinkGenesis {
  record: GenesisRecord
  block: Block
  /** `caip10-link` DocID of the block's CID: the same for everyone who links this account. */
  docId: DocID
  account: AccountId
}

/** `caip10-<chainId>`: the family Ceramic gives the links of a chain. */
export function linkFamily (account: AccountId): string {
  return `caip10-${account.chainId}`
}

/**
 * Builds the genesis of an account's link document: unsigned dag-cbor `{header: {controllers: [address@chainId],
 * family: 'caip10-<chainId>'}}`, byte for byte what Ceramic's `Caip10Link.fromAccount` sends, so the same account
 * gives the same DocID on Kiln and Ceramic however its address is spelled.
 */
export async function accountLinkGenesis (account: string | AccountId): Promise<AccountLinkGenesis> {
  const parsed = parseAccountId(typeof account === 'string' ? account : account.caip10)
  const record: GenesisRecord = { header: { controllers: [parsed.legacy], family: linkFamily(parsed) } }
  const block = await encodeRecord(record)
  return { record, block, docId: new DocID(ACCOUNT_LINK_NAME, block.cid), account: parsed }
}

function rule (message: string, details: Record<string, unknown> = {}): never {
  throw new DoctypeRuleError(`caip10-link genesis: ${message}`, { details })
}

/** The account a link's controller names (Ceramic's legacy `address@chainId` form). */
export function accountOfController (controller: string): AccountId {
  try {
    return parseAccountId(controller)
  } catch (err) {
    if (!isKilnError(err, 'InvalidAccountIdError')) throw err
    throw new InvalidCommitError(`Invalid caip10-link genesis: ${err.message}`, { cause: err, details: { field: 'controllers' } })
  }
}

/**
 * Checks a genesis payload and returns the first state's content (`null`) and metadata. It must be exactly what
 * {@link accountLinkGenesis} makes for its account: one controller in canonical legacy form, the chain's family, no
 * data, no other field — so that one account has one link document.
 */
export function applyLinkGenesis (payload: unknown): DoctypeResult<AccountLinkContent> {
  const genesis = asGenesisRecord(payload)
  const top = Object.keys(genesis).filter((key) => key !== 'header')
  if (top.includes('data')) rule('a link genesis has no data: the link is made by a signed proof in an update (Ceramic refuses it too)')
  if (top.length > 0) rule(`unknown fields ${top.map((k) => JSON.stringify(k)).join(', ')}`, { fields: top })
  const extra = Object.keys(genesis.header).filter((key) => key !== 'controllers' && key !== 'family')
  if (extra.length > 0) {
    rule(`the header holds only controllers and family, so that one account has one DocID; found ${extra.map((k) => JSON.stringify(k)).join(', ')}`, { fields: extra })
  }
  const { controllers, family } = genesis.header
  if (controllers.length !== 1) rule(`exactly one controller, the account, must be named; got ${controllers.length}`, { controllers: [...controllers] })
  const account = accountOfController(controllers[0]!)
  if (controllers[0] !== account.legacy) {
    rule(`the controller ${JSON.stringify(controllers[0])} must be written ${JSON.stringify(account.legacy)} (Ceramic's address@chainId form, lower-case Ethereum and bech32 addresses)`, {
      controller: controllers[0], expected: account.legacy
    })
  }
  const expected = linkFamily(account)
  if (family !== expected) rule(`the family of ${account.caip10}'s link must be ${JSON.stringify(expected)}, got ${JSON.stringify(family) ?? 'none'}`, { family, expected })
  return { content: null, metadata: { controllers: [account.legacy], family: expected } }
}
