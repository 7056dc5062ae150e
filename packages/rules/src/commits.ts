import { bytesToBase64, signRecord, type SignedBlocks } from '@kiln/codec'
import { InvalidCommitError, UnauthorizedSignerError, type DIDSigner, type DocState, type GenesisHeader, type GenesisRecord, type UpdateRecord } from '@kiln/interface'
import { cloneJson, diffJson, type JsonPatchOperation } from '@kiln/json'
import { RULES_DOCTYPE_CODE, type RulesContent } from './doctype.js'
import { parseRules } from './parse-rules.js'
import { randomBytes } from '@noble/hashes/utils'

/** What a client signs rules commits with: a DID and its DAG-JWS maker (a `keyDidSigner` will do). */
export type RulesSigner = Pick<DIDSigner, 'did' | 'createDagJWS'>

/** Options of {@link makeRulesGenesis}. */
export interface RulesGenesisOptions {
  family?: string
  tags?: string[]
  /** The rules this rules document itself follows (a CommitID of another rules document). */
  rules?: string
}

/**
 * Builds the signed genesis of a rules document holding `content`, controlled by `signer`. The content is checked with
 * `parseRules` first, so a rule set the nodes would refuse fails here (`InvalidRulesError`), before it is signed. The
 * DocID is `new DocID('rules', result.envelope.cid)`.
 */
export async function makeRulesGenesis (content: RulesContent, signer: RulesSigner, opts: RulesGenesisOptions = {}): Promise<SignedBlocks<GenesisRecord<RulesContent>>> {
  parseRules(content)
  const header: GenesisHeader & { rules?: string } = { controllers: [signer.did], unique: bytesToBase64(randomBytes(12)) }
  if (opts.family !== undefined) header.family = opts.family
  if (opts.tags !== undefined) header.tags = [...opts.tags]
  if (opts.rules !== undefined) header.rules = opts.rules
  return await signRecord({ header, data: cloneJson(content) }, signer)
}

/**
 * Builds a signed update turning the rules document `state` into `newContent`: the JSON-Patch between the two, `id`
 * the genesis CID, `prev` the tip. The new content is checked with `parseRules` first.
 */
export async function makeRulesUpdate (state: DocState, newContent: RulesContent, signer: RulesSigner): Promise<SignedBlocks<UpdateRecord<JsonPatchOperation[]>>> {
  if (state.type !== RULES_DOCTYPE_CODE) throw new InvalidCommitError(`makeRulesUpdate: the state is of doctype ${state.type}, not rules (${RULES_DOCTYPE_CODE})`)
  const genesis = state.log[0]
  const tip = state.log[state.log.length - 1]
  if (genesis === undefined || tip === undefined) throw new InvalidCommitError('makeRulesUpdate: the state has an empty log')
  if (!state.metadata.controllers.includes(signer.did)) {
    throw new UnauthorizedSignerError(`makeRulesUpdate: signer ${signer.did} is not the controller (${state.metadata.controllers.join(', ')})`, {
      details: { did: signer.did, controllers: [...state.metadata.controllers] }
    })
  }
  parseRules(newContent)
  const data = diffJson(state.content as object, newContent)
  return await signRecord({ id: genesis.cid, prev: tip.cid, header: {}, data }, signer)
}
