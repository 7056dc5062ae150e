// The cost of rules on ingest: DOCS tiles x UPDATES_PER_DOC signed updates into a fresh LevelDB node (relaxed
// durability, one update of every document in flight at once, as the core bench's `ingest.concurrent`), once for tiles
// with no rules (their controller appends) and once for tiles naming a typical rules document (the team task list of
// docs/rules.md: members append, 2 of 3 admins close, the owner edits the title), where a member appends. Both do the
// same JSON-Patch `add` at /tasks/-. The two runs alternate, twice each, and the better of each pair is reported.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode, memoryStorage } from '@kiln/core'
import { makeGenesis, makePatchUpdate, tile } from '@kiln/doctype-tile'
import { rulesDoctype } from '@kiln/rules'
import { keyDidSigner } from '@kiln/signing'
import { levelStorage } from '@kiln/storage-level'
import { report } from './measure.mjs'

const DOCS = 100
const UPDATES_PER_DOC = 20
const ROUNDS = 2

const signer = (byte) => keyDidSigner({ seed: new Uint8Array(32).fill(byte) })
const owner = signer(0x21)
const admins = [signer(0x22), signer(0x23), signer(0x24)]
const member = signer(0x25)

/** The typical rules document: who may append, close, edit the title; the list is append-only. */
const typicalRules = {
  version: 1,
  rules: [
    { name: 'members-append', paths: ['/tasks'], who: { anyOf: [member.did, ...admins.map((a) => a.did)] }, how: { appendOnly: true } },
    { name: 'admins-close', paths: ['/closed'], who: { threshold: 2, of: admins.map((a) => a.did) } },
    { name: 'owner-edits-title', paths: ['/title'], who: { controllers: true }, how: { ops: ['replace'] } },
    { name: 'rules-frozen', paths: ['#rules', '#controllers'], who: { threshold: 3, of: admins.map((a) => a.did) } }
  ]
}

/** Builds each document's genesis and updates on a scratch node (with the rules document when `rules` is given). */
async function prepare (rules) {
  const scratch = await createNode({ doctypes: [tile(), rulesDoctype()], storage: memoryStorage(), durability: 'relaxed' })
  let rulesGenesis
  let rulesRef
  if (rules) {
    rulesGenesis = (await makeGenesis(typicalRules, {}, owner)).commit
    const { id, state } = await scratch.createDocument('rules', rulesGenesis, { anchor: false })
    rulesRef = id.atCommit(state.log[0].cid).toString()
  }
  const writer = rules ? member : owner
  const docs = []
  for (let d = 0; d < DOCS; d++) {
    const genesis = (await makeGenesis({ title: `list ${d}`, tasks: [], closed: false }, rules ? { rules: rulesRef } : {}, owner)).commit
    let { id, state } = await scratch.createDocument('tile', genesis, { anchor: false })
    const updates = []
    for (let n = 0; n < UPDATES_PER_DOC; n++) {
      const update = (await makePatchUpdate(state, [{ op: 'add', path: '/tasks/-', value: { n, text: `task ${n} of list ${d}` } }], writer)).commit
      updates.push(update)
      state = (await scratch.applyCommit(id, update, { anchor: false })).state
    }
    docs.push({ id, genesis, updates })
  }
  await scratch.stop()
  return { rulesGenesis, docs }
}

/** Updates per second of every prepared update applied to a fresh LevelDB node, one of each document at a time. */
async function ingest (dir, label, { rulesGenesis, docs }) {
  const node = await createNode({ doctypes: [tile(), rulesDoctype()], storage: levelStorage({ path: join(dir, label) }), durability: 'relaxed' })
  try {
    if (rulesGenesis !== undefined) await node.createDocument('rules', rulesGenesis, { anchor: false })
    await Promise.all(docs.map(async (doc) => await node.createDocument('tile', doc.genesis, { anchor: false })))
    globalThis.gc?.()
    const start = performance.now()
    for (let u = 0; u < UPDATES_PER_DOC; u++) {
      await Promise.all(docs.map(async (doc) => await node.applyCommit(doc.id, doc.updates[u], { anchor: false })))
    }
    return (DOCS * UPDATES_PER_DOC) / ((performance.now() - start) / 1000)
  } finally {
    await node.stop()
  }
}

export default async function rulesBench () {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-rules-'))
  try {
    const plain = await prepare(false)
    const ruled = await prepare(true)
    const without = []
    const withRules = []
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await ingest(dir, `plain-${round}`, plain))
      withRules.push(await ingest(dir, `ruled-${round}`, ruled))
    }
    const base = Math.max(...without)
    const ruledRate = Math.max(...withRules)
    report('rules.ingest.without.updates_per_s', base, 'updates/s', `${DOCS} tiles x ${UPDATES_PER_DOC} updates, concurrent, relaxed durability (the baseline)`)
    report('rules.ingest.with.updates_per_s', ruledRate, 'updates/s', 'the same, each tile naming a 4-rule document, written by a member')
    report('rules.overhead_ratio', ruledRate / base, 'x', 'target >= 0.8')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
