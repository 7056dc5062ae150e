import { asGenesisRecord, asUpdateRecord } from '@kiln/codec'
import {
  AbortError, DoctypeRuleError, InvalidCommitError, UnauthorizedSignerError,
  type DocMetadata, type DoctypeFactory, type DoctypeHandler, type DoctypeResult, type GenesisHeader, type VerifiedCommit
} from '@kiln/interface'
import { applyJsonPatch, checkJsonSize, cloneJson } from '@kiln/json'
import { MAX_RULES_BYTES } from './limits.js'
import { isCommitIdString } from './evaluate.js'
import { parseRules } from './parse-rules.js'

/** The DocID type code of rules documents: no Ceramic code (0–4), and next to the schema doctype's 64. */
export const RULES_DOCTYPE_CODE = 65

/** The doctype name of rules documents. */
export const RULES_DOCTYPE_NAME = 'rules'

/** The content of a rules document: the JSON of a rule set (see `parseRules`). */
export type RulesContent = Record<string, unknown>

/** Options of {@link rulesDoctype}; none yet. */
export type RulesDoctypeInit = Record<string, never>

/** Header fields an update may change (`rules`: the rules this rules document itself follows); the rest are fixed at genesis. */
const CHANGEABLE = new Set(['controllers', 'family', 'tags', 'rules'])

function checkController (controllers: unknown, what: string): string[] {
  if (!Array.isArray(controllers) || controllers.length !== 1 || typeof controllers[0] !== 'string' || controllers[0] === '') {
    throw new DoctypeRuleError(`a rules ${what} must name exactly one controller`, { details: { field: 'controllers' } })
  }
  return [controllers[0]]
}


function checkHeader (header: Record<string, unknown>, what: string): void {
  if (header.schema !== undefined) {
    throw new DoctypeRuleError(`a rules ${what} names no schema: its content is checked against the rules meta-schema`, { details: { field: 'schema' } })
  }
  if (header.family !== undefined && typeof header.family !== 'string') {
    throw new InvalidCommitError(`Invalid rules ${what}: \`header.family\` must be a string`, { details: { field: 'family' } })
  }
  if (header.rules !== undefined && !isCommitIdString(header.rules)) {
    throw new InvalidCommitError(`Invalid rules ${what}: \`header.rules\` must be a CommitID string`, { details: { field: 'rules' } })
  }
  if (header.tags !== undefined && (!Array.isArray(header.tags) || !header.tags.every((t) => typeof t === 'string' && t !== ''))) {
    throw new InvalidCommitError(`Invalid rules ${what}: \`header.tags\` must be a list of non-empty strings`, { details: { field: 'tags' } })
  }
}

function signerOf (commit: VerifiedCommit, controllers: readonly string[], what: string): void {
  if (commit.signer === undefined || !controllers.includes(commit.signer)) {
    throw new UnauthorizedSignerError(`rules ${what} ${commit.cid.toString()} must be signed by its controller (${controllers.join(', ')})`, {
      details: { cid: commit.cid.toString(), controllers: [...controllers], ...(commit.signer === undefined ? {} : { did: commit.signer }) }
    })
  }
}

/** Checks the content of a state: at most 64 KiB, and a valid rule set (`InvalidRulesError` otherwise). */
function checkContent (content: unknown): asserts content is RulesContent {
  parseRules(content)
}

/** Copies a genesis header into metadata: bytes and JSON anew, undefined fields left out. */
function copyHeader (header: GenesisHeader): DocMetadata {
  const out: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(header)) {
    if (value === undefined) continue
    out[field] = value instanceof Uint8Array ? value.slice() : cloneJson(value)
  }
  return out as DocMetadata
}

function applyGenesis (commit: VerifiedCommit): DoctypeResult<RulesContent> {
  if (commit.kind !== 'genesis') {
    throw new InvalidCommitError(`commit ${commit.cid.toString()} is a ${commit.kind}, but the document has no genesis yet`, { details: { cid: commit.cid.toString() } })
  }
  const genesis = asGenesisRecord(commit.payload)
  const controllers = checkController(genesis.header.controllers, 'genesis')
  checkHeader(genesis.header as unknown as Record<string, unknown>, 'genesis')
  signerOf(commit, controllers, 'genesis')
  if (genesis.data === undefined) {
    throw new DoctypeRuleError(`rules genesis ${commit.cid.toString()} carries no rule set: a rules document starts with its rules`, { details: { cid: commit.cid.toString() } })
  }
  checkContent(genesis.data)
  return { content: cloneJson(genesis.data), metadata: copyHeader(genesis.header) }
}

function applyUpdate (metadata: DocMetadata, content: unknown, commit: VerifiedCommit): DoctypeResult<RulesContent> {
  if (commit.kind !== 'update') {
    throw new InvalidCommitError(`commit ${commit.cid.toString()} is a ${commit.kind}, but the document already has a genesis`, { details: { cid: commit.cid.toString() } })
  }
  const update = asUpdateRecord(commit.payload)
  signerOf(commit, metadata.controllers, 'update')
  const next: DocMetadata = { ...metadata, controllers: [...metadata.controllers] }
  if (metadata.tags !== undefined) next.tags = [...metadata.tags]
  const header = (update.header ?? {}) as Record<string, unknown>
  checkHeader(header, 'update')
  for (const [field, value] of Object.entries(header)) {
    if (value === undefined) continue
    if (!CHANGEABLE.has(field)) {
      throw new DoctypeRuleError(`a rules update may change only ${[...CHANGEABLE].join(', ')} in its header, not ${field}`, { details: { field } })
    }
    if (field === 'controllers') next.controllers = checkController(value, 'update')
    else if (field === 'tags') next.tags = [...value as string[]]
    else next[field] = value as string
  }
  const after = applyJsonPatch(content, update.data, {
    what: 'rules update data',
    afterCopy: (document) => { checkJsonSize(document, MAX_RULES_BYTES, 'rules content') }
  })
  checkContent(after)
  return { content: after, metadata: next }
}

/**
 * The rules doctype (code 65): documents whose content is a rule set, created by a genesis signed by their one
 * controller and changed by signed JSON-Patch updates. Every state must be a valid rule set (`parseRules`): a commit
 * that would make it invalid is refused with `InvalidRulesError`.
 */
export function rulesDoctype (_init: RulesDoctypeInit = {}): DoctypeFactory<RulesContent> {
  return () => {
    const handler: DoctypeHandler<RulesContent> = {
      name: RULES_DOCTYPE_NAME,
      code: RULES_DOCTYPE_CODE,
      signers (state, payload) {
        if (state !== null) return state.metadata.controllers
        return asGenesisRecord(payload).header.controllers
      },
      async apply (state, commit, ctx) {
        if (ctx.signal?.aborted === true) throw new AbortError('rules: apply was aborted', { cause: ctx.signal.reason })
        return state === null ? applyGenesis(commit) : applyUpdate(state.metadata, state.content, commit)
      }
    }
    return handler
  }
}
