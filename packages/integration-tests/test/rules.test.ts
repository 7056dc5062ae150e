// Documents with rules, through a whole node: the pipeline's rules stage (who, how, when, evidence, deadlines settled
// by anchors), k-of-n signatures, refusals that write nothing, determinism across nodes and hostile rules documents.
// The rule language itself is tested construct by construct in @kiln/rules.
import { mockAnchor } from '@kiln/anchor-mock'
import { signRecord } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { CommitID, type DocID } from '@kiln/docid'
import { makeGenesis, makePatchUpdate, makeUpdate, tile, type TileSigner } from '@kiln/doctype-tile'
import type { DIDSigner, DocState } from '@kiln/interface'
import { rulesDoctype } from '@kiln/rules'
import { cacaoSessionSigner, keyDidSigner, pkhDidOfKey, signCacao, signDagJWSWithAll } from '@kiln/signing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { waitForAnchor } from './fixtures/node.js'

const signer = (byte: number): DIDSigner => keyDidSigner({ seed: new Uint8Array(32).fill(byte) })
const owner = signer(0x40)
const [admin1, admin2, admin3] = [signer(0x41), signer(0x42), signer(0x43)]
const [member1, member2] = [signer(0x51), signer(0x52)]
const stranger = signer(0x60)
const CHAIN_SEED = new Uint8Array(32).fill(0x99)

/** A tile signer in `signers[0]`'s name whose JWS carries a signature by every one of `signers`, in order. */
function together (...signers: DIDSigner[]): TileSigner {
  return { did: signers[0]!.did, createDagJWS: async (cid) => await signDagJWSWithAll(signers, cid) }
}

/** The team task list of `docs/rules.md`: members append tasks, 2 of the 3 admins close the list. */
function teamRules (extra: unknown[] = []): Record<string, unknown> {
  return {
    version: 1,
    rules: [
      {
        name: 'members-append',
        paths: ['/tasks'],
        who: { anyOf: [{ anyOf: [member1.did, member2.did] }, { anyOf: [admin1.did, admin2.did, admin3.did] }] },
        how: { appendOnly: true }
      },
      { name: 'admins-close', paths: ['/closed'], who: { threshold: 2, of: [admin1.did, admin2.did, admin3.did] } },
      ...extra
    ]
  }
}

async function rulesDocument (node: KilnNode, content: Record<string, unknown>): Promise<string> {
  const { id, state } = await node.createDocument('rules', (await makeGenesis(content, {}, owner)).commit, { anchor: false })
  return id.atCommit(state.log[state.log.length - 1]!.cid).toString()
}

async function governed (node: KilnNode, rules: string, content: Record<string, unknown> = { tasks: [], closed: false }): Promise<{ id: DocID, state: DocState }> {
  return await node.createDocument('tile', (await makeGenesis(content, { rules }, owner)).commit, { anchor: false })
}

async function append (node: KilnNode, id: DocID, by: TileSigner, task: string, opts = {}): Promise<DocState> {
  const { state } = await node.load(id)
  const update = await makePatchUpdate(state, [{ op: 'add', path: '/tasks/-', value: task }], by, opts)
  return (await node.applyCommit(id, update.commit, { anchor: false })).state
}

describe('a document with rules, on one node', () => {
  let node: KilnNode
  beforeEach(async () => { node = await createNode({ doctypes: [tile(), rulesDoctype()], storage: memoryStorage() }) })
  afterEach(async () => { await node.stop() })

  it('lets members append tasks, which are not controllers', async () => {
    const { id } = await governed(node, await rulesDocument(node, teamRules()))
    await append(node, id, member1, 'write the docs')
    const state = await append(node, id, member2, 'review them')
    expect(state.content).toEqual({ tasks: ['write the docs', 'review them'], closed: false })
    expect(state.log).toHaveLength(3)
  })

  it('refuses, naming the rule and the path, and writes nothing: a stranger, an edit of an append-only list, an uncovered path', async () => {
    const { id } = await governed(node, await rulesDocument(node, teamRules()))
    await append(node, id, member1, 'one')
    const { state } = await node.load(id)

    await expect(append(node, id, stranger, 'spam')).rejects.toMatchObject({ name: 'RuleViolationError', details: { rule: 'members-append' } })
    const edit = await makePatchUpdate(state, [{ op: 'replace', path: '/tasks/0', value: 'rewritten' }], member1)
    await expect(node.applyCommit(id, edit.commit)).rejects.toMatchObject({ name: 'RuleViolationError', details: { rule: 'members-append', path: '/tasks/0' } })
    const other = await makeUpdate(state, { tasks: ['one'], closed: false, note: 'x' }, owner)
    await expect(node.applyCommit(id, other.commit)).rejects.toMatchObject({ name: 'RuleViolationError', details: { path: '/note' } })

    const after = (await node.load(id)).state
    expect(after.log.map((e) => e.cid.toString())).toEqual(state.log.map((e) => e.cid.toString()))
    expect(after.content).toEqual({ tasks: ['one'], closed: false })
  })

  it('2-of-3: accepts two distinct admins, refuses one admin twice and a single admin', async () => {
    const { id, state } = await governed(node, await rulesDocument(node, teamRules()))
    const close = async (by: TileSigner): Promise<unknown> => await node.applyCommit(id, (await makeUpdate(state, { tasks: [], closed: true }, by)).commit, { anchor: false })

    await expect(close(together(admin1, admin1))).rejects.toMatchObject({ name: 'RuleViolationError', details: { rule: 'admins-close', path: '/closed' } })
    await expect(close(admin2)).rejects.toMatchObject({ name: 'RuleViolationError', details: { rule: 'admins-close' } })
    await expect(close(together(admin1, stranger))).rejects.toMatchObject({ name: 'RuleViolationError' })
    expect((await node.load(id)).state.log).toHaveLength(1)

    await close(together(admin1, admin3))
    expect((await node.load(id)).state.content).toEqual({ tasks: [], closed: true })
  })

  it('governs a change of the rules reference by the current rules', async () => {
    const rules = await rulesDocument(node, teamRules())
    const laxer = await rulesDocument(node, { version: 1, default: 'allow', rules: [] })
    const { id, state } = await governed(node, rules)
    const swap = await makeUpdate(state, null, owner, { rules: laxer })
    await expect(node.applyCommit(id, swap.commit)).rejects.toMatchObject({ name: 'RuleViolationError', details: { path: '#rules' } })

    const allowing = await rulesDocument(node, teamRules([{ name: 'admins-rules', paths: ['#rules'], who: { threshold: 2, of: [admin1.did, admin2.did, admin3.did] } }]))
    const second = await governed(node, allowing)
    const swapped = await node.applyCommit(second.id, (await makeUpdate(second.state, null, together(admin2, admin3), { rules: laxer })).commit, { anchor: false })
    expect(swapped.state.metadata.rules).toBe(laxer)
    // Under the new rules anyone may write anything.
    const free = await node.applyCommit(second.id, (await makeUpdate(swapped.state, { anything: 1 }, stranger)).commit, { anchor: false })
    expect(free.state.content).toEqual({ anything: 1 })
  })

  it('refuses a genesis naming rules that are not a rules document, or not a CommitID', async () => {
    const plain = await node.createDocument('tile', (await makeGenesis({ a: 1 }, {}, owner)).commit, { anchor: false })
    const notRules = plain.id.atCommit(plain.state.log[0]!.cid).toString()
    await expect(governed(node, notRules)).rejects.toMatchObject({ name: 'InvalidRulesError' })
    const rules = await rulesDocument(node, teamRules())
    await expect(governed(node, CommitID.fromString(rules).baseID.toString())).rejects.toMatchObject({ name: 'InvalidCommitError' })
    expect(await node.listPins()).toHaveLength(2)
  })

  it('reads members from another document at the commit the update cites, which must be a commit of that document', async () => {
    const roster = await node.createDocument('tile', (await makeGenesis({ members: [member1.did] }, {}, owner)).commit, { anchor: false })
    const rosterAt = (state: DocState): string => roster.id.atCommit(state.log[state.log.length - 1]!.cid).toString()
    const rules = await rulesDocument(node, {
      version: 1,
      rules: [{ name: 'roster-append', paths: ['/tasks'], who: { membersOf: { evidence: 'roster', doc: roster.id.toString(), path: '/members' } }, how: { appendOnly: true } }]
    })
    const { id } = await governed(node, rules)
    await append(node, id, member1, 'listed', { evidence: { roster: rosterAt(roster.state) } })
    await expect(append(node, id, member2, 'not listed', { evidence: { roster: rosterAt(roster.state) } })).rejects.toMatchObject({ name: 'RuleViolationError', details: { rule: 'roster-append' } })
    await expect(append(node, id, member1, 'no evidence')).rejects.toMatchObject({ name: 'RuleViolationError' })

    // Evidence from another document, claimed as the roster, is refused.
    const fake = await node.createDocument('tile', (await makeGenesis({ members: [member2.did] }, {}, member2)).commit, { anchor: false })
    const fakeAt = fake.id.atCommit(fake.state.log[0]!.cid).toString()
    await expect(append(node, id, member2, 'forged', { evidence: { roster: fakeAt } })).rejects.toMatchObject({ name: 'RuleViolationError' })

    const grown = await node.applyCommit(roster.id, (await makeUpdate(roster.state, { members: [member1.did, member2.did] }, owner)).commit, { anchor: false })
    const state = await append(node, id, member2, 'listed now', { evidence: { roster: rosterAt(grown.state) } })
    expect(state.content).toMatchObject({ tasks: ['listed', 'listed now'] })
  })

  it('gates a transition on another document\'s state at a cited commit (≥ 3 approvals)', async () => {
    const votes = await node.createDocument('tile', (await makeGenesis({ approvals: ['a', 'b'] }, {}, owner)).commit, { anchor: false })
    const rules = await rulesDocument(node, {
      version: 1,
      rules: [{
        name: 'release-when-approved',
        paths: ['/status'],
        who: { controllers: true },
        when: { evidence: [{ evidence: 'votes', doc: votes.id.toString(), require: { type: 'object', properties: { approvals: { type: 'array', minItems: 3 } }, required: ['approvals'] } }] }
      }]
    })
    const { id, state } = await governed(node, rules, { status: 'draft' })
    const release = async (at: DocState): Promise<DocState> => (await node.applyCommit(id,
      (await makeUpdate(state, { status: 'released' }, owner, { evidence: { votes: votes.id.atCommit(at.log[at.log.length - 1]!.cid).toString() } })).commit, { anchor: false })).state
    await expect(release(votes.state)).rejects.toMatchObject({ name: 'RuleViolationError', details: { rule: 'release-when-approved' } })
    const third = await node.applyCommit(votes.id, (await makeUpdate(votes.state, { approvals: ['a', 'b', 'c'] }, owner)).commit, { anchor: false })
    const released = await release(third.state)
    expect(released.content).toEqual({ status: 'released' })
    // The approvals are not anchored yet: the verdict is provisional until they are.
    expect(released.provisional).toEqual([{ commit: released.log[1]!.cid.toString(), conditions: [{ rule: 'release-when-approved', kind: 'evidence', commitId: expect.any(String) }] }])
  })

  it('compare-and-set: a change must test the value it replaces', async () => {
    const rules = await rulesDocument(node, { version: 1, rules: [{ name: 'counter', paths: ['/n'], who: { controllers: true }, how: { compareAndSet: true } }] })
    const { id, state } = await governed(node, rules, { n: 1 })
    const blind = await makePatchUpdate(state, [{ op: 'replace', path: '/n', value: 2 }], owner)
    await expect(node.applyCommit(id, blind.commit)).rejects.toMatchObject({ name: 'RuleViolationError', details: { rule: 'counter', path: '/n' } })
    const stale = await makePatchUpdate(state, [{ op: 'test', path: '/n', value: 1 }, { op: 'replace', path: '/n', value: 2 }], owner)
    expect((await node.applyCommit(id, stale.commit, { anchor: false })).state.content).toEqual({ n: 2 })
  })
})

describe('time windows, judged by anchors', () => {
  let node: KilnNode
  let clock: number
  beforeEach(async () => {
    clock = 1_800_000_000_000
    node = await createNode({ doctypes: [tile(), rulesDoctype()], storage: memoryStorage(), anchors: [mockAnchor({ anchorOnRequest: true, seed: CHAIN_SEED, now: () => clock })] })
  })
  afterEach(async () => { await node.stop() })

  const deadline = 1_800_000_100
  const deadlineRules = (): Record<string, unknown> => ({
    version: 1, rules: [{ name: 'submit-by-deadline', paths: ['/entries'], who: { controllers: true }, when: { notAfter: deadline } }]
  })

  it('keeps a commit provisional until its anchor, which settles it when on time', async () => {
    const { id, state } = await governed(node, await rulesDocument(node, deadlineRules()), { entries: [] })
    const submitted = (await node.applyCommit(id, (await makeUpdate(state, { entries: ['on time'] }, owner)).commit, { anchor: false })).state
    expect(submitted.provisional).toEqual([{ commit: submitted.log[1]!.cid.toString(), conditions: [{ rule: 'submit-by-deadline', kind: 'deadline', notAfter: deadline }] }])
    clock = (deadline - 10) * 1000
    await node.requestAnchor(id)
    const anchored = await waitForAnchor(node, id)
    expect(anchored.provisional).toBeUndefined()
    expect(anchored.voided).toBeUndefined()
    expect(anchored.content).toEqual({ entries: ['on time'] })
  })

  it('voids a commit anchored after its deadline, and those after it: the state goes back, the log keeps them', async () => {
    const { id, state } = await governed(node, await rulesDocument(node, deadlineRules()), { entries: [] })
    const first = (await node.applyCommit(id, (await makeUpdate(state, { entries: ['late'] }, owner)).commit, { anchor: false })).state
    const second = (await node.applyCommit(id, (await makeUpdate(first, { entries: ['late', 'later'] }, owner)).commit, { anchor: false })).state
    clock = (deadline + 60) * 1000
    await node.requestAnchor(id)
    const anchored = await waitForAnchor(node, id)
    expect(anchored.content).toEqual({ entries: [] })
    expect(anchored.log).toHaveLength(4)
    expect(anchored.voided?.map((v) => v.commit)).toEqual([second.log[1]!.cid.toString(), second.log[2]!.cid.toString()])
    expect(anchored.voided?.[0]).toMatchObject({ rule: 'submit-by-deadline', notAfter: deadline, anchoredAt: deadline + 60 })
    // A node that reads the same blocks reaches the same state: the rules run again on import.
    const other = await createNode({ doctypes: [tile(), rulesDoctype()], storage: memoryStorage(), anchors: [mockAnchor({ anchorOnRequest: true, seed: CHAIN_SEED })] })
    try {
      await other.importDocument(await node.exportDocument(CommitID.fromString(anchored.metadata.rules!).baseID))
      const imported = await other.importDocument(await node.exportDocument(id))
      expect(imported.state.content).toEqual(anchored.content)
      expect(imported.state.voided).toEqual(anchored.voided)
    } finally {
      await other.stop()
    }
  })

  it('accepts a commit only after a time its cited evidence proves (notBefore), never by the local clock', async () => {
    const opening = 1_800_000_500
    // A beacon document, anchored now (before the opening): the rules name it as the clock bids must cite.
    const beacon = await node.createDocument('tile', (await makeGenesis({ tick: 0 }, {}, owner)).commit)
    const early = await waitForAnchor(node, beacon.id)
    const rules = await rulesDocument(node, {
      version: 1,
      rules: [{ name: 'opens-later', paths: ['/bids'], who: { controllers: true }, when: { notBefore: opening, evidence: [{ evidence: 'clock', doc: beacon.id.toString() }] } }]
    })
    const { id, state } = await governed(node, rules, { bids: [] })
    const bid = async (clockAt: DocState): Promise<DocState> => (await node.applyCommit(id,
      (await makeUpdate(state, { bids: [1] }, owner, { evidence: { clock: beacon.id.atCommit(clockAt.log[0]!.cid).toString() } })).commit, { anchor: false })).state
    await expect(node.applyCommit(id, (await makeUpdate(state, { bids: [1] }, owner)).commit)).rejects.toMatchObject({ name: 'RuleViolationError', details: { rule: 'opens-later' } })

    clock = (opening + 100) * 1000 // the node's clock says the window is open: that does not count
    await expect(bid(early)).rejects.toMatchObject({ name: 'RuleViolationError', details: { rule: 'opens-later' } })
    expect((await node.load(id)).state.log).toHaveLength(1)

    // The beacon's next commit, anchored after the opening, is the proof.
    const ticked = await node.applyCommit(beacon.id, (await makeUpdate(early, { tick: 1 }, owner)).commit)
    const late = await waitForAnchor(node, beacon.id)
    const commit = late.log[ticked.state.log.length - 1]!.cid
    const accepted = (await node.applyCommit(id, (await makeUpdate(state, { bids: [1] }, owner, { evidence: { clock: beacon.id.atCommit(commit).toString() } })).commit, { anchor: false })).state
    expect(accepted.content).toEqual({ bids: [1] })
    expect(accepted.provisional).toBeUndefined()
  })
})

describe('verdicts are the same on every node', () => {
  it('two nodes given the same commits in different orders reach the same verdicts and states', async () => {
    const nodes = await Promise.all([0, 1, 2].map(async () => await createNode({ doctypes: [tile(), rulesDoctype()], storage: memoryStorage() })))
    const [a, b, scratch] = nodes as [KilnNode, KilnNode, KilnNode]
    try {
      const rules = await rulesDocument(scratch, teamRules())
      const { id, state: s0 } = await governed(scratch, rules)
      const rulesId = CommitID.fromString(rules).baseID
      for (const node of [a, b]) {
        await node.importDocument(await scratch.exportDocument(rulesId))
        await node.importDocument(await scratch.exportDocument(id))
      }
      // Two branches on the genesis (x then w; y), and a stranger's commit.
      const x = (await makePatchUpdate(s0, [{ op: 'add', path: '/tasks/-', value: 'x' }], member1)).commit
      const sx = (await scratch.applyCommit(id, x, { anchor: false })).state
      const w = (await makePatchUpdate(sx, [{ op: 'add', path: '/tasks/-', value: 'w' }], member2)).commit
      const y = (await makePatchUpdate(s0, [{ op: 'add', path: '/tasks/-', value: 'y' }], member2)).commit
      const z = (await makePatchUpdate(s0, [{ op: 'add', path: '/tasks/-', value: 'z' }], stranger)).commit

      const verdicts = async (node: KilnNode, order: Array<[string, typeof x]>): Promise<Record<string, string>> => {
        const out: Record<string, string> = {}
        for (const [name, commit] of order) {
          out[name] = await node.receiveCommit(id, commit, { anchor: false }).then(() => 'accepted', (err: Error) => err.name)
        }
        return out
      }
      const onA = await verdicts(a, [['x', x], ['w', w], ['y', y], ['z', z]])
      const onB = await verdicts(b, [['z', z], ['y', y], ['x', x], ['w', w]])
      expect(onA).toEqual({ x: 'accepted', w: 'accepted', y: 'accepted', z: 'RuleViolationError' })
      expect(onB).toEqual(onA)
      const [stateA, stateB] = [(await a.load(id)).state, (await b.load(id)).state]
      expect(stateA.content).toEqual({ tasks: ['x', 'w'], closed: false })
      expect(stateB.content).toEqual(stateA.content)
      expect(stateB.log.map((e) => e.cid.toString())).toEqual(stateA.log.map((e) => e.cid.toString()))
    } finally {
      await Promise.all(nodes.map(async (node) => { await node.stop() }))
    }
  })
})

describe('hostile rules documents', () => {
  let node: KilnNode
  beforeEach(async () => { node = await createNode({ doctypes: [tile(), rulesDoctype()], storage: memoryStorage() }) })
  afterEach(async () => { await node.stop() })

  it('are refused with InvalidRulesError, nothing written, and the node stays healthy', async () => {
    let deep: unknown = { anyOf: [member1.did] }
    for (let i = 0; i < 100; i++) deep = { anyOf: [deep] }
    const hostile: Array<Record<string, unknown>> = [
      { version: 1, rules: [{ name: 'deep', who: deep }] },
      { version: 1, rules: Array.from({ length: 5_000 }, (_, i) => ({ name: `r${i}`, paths: [`/p${i}`], who: { controllers: true } })) },
      { version: 1, rules: [{ name: 'cyclic', paths: ['/a'], how: { transition: { $ref: '#/definitions/a', definitions: { a: { $ref: '#/definitions/b' }, b: { $ref: '#/definitions/a' } } } } }] },
      { version: 1, rules: [{ name: 'remote', paths: ['/a'], how: { transition: { $ref: 'https://example.com/schema.json' } } }] },
      { version: 1, rules: [{ name: 'redos', paths: ['/a'], how: { transition: { type: 'object', properties: { after: { type: 'object', properties: { a: { type: 'string', pattern: `^(a+)+${'$'.repeat(300)}` } } } } } } }] }
    ]
    for (const content of hostile) {
      // Signed as they are (the tile builder would refuse some of them before they reach the node).
      const genesis = await signRecord({ header: { controllers: [owner.did], unique: 'hostile' }, data: content }, owner)
      await expect(node.createDocument('rules', genesis.commit)).rejects.toMatchObject({ name: 'InvalidRulesError' })
    }
    expect(await node.listPins()).toEqual([])
    // The node still writes and reads.
    const { id } = await governed(node, await rulesDocument(node, teamRules()))
    expect((await append(node, id, member1, 'still fine')).content).toEqual({ tasks: ['still fine'], closed: false })
  })
})

describe('rules naming wallet accounts (did:pkh through CACAO session keys)', () => {
  const walletKey = new Uint8Array(32).fill(0xe9)
  const session = keyDidSigner({ seed: new Uint8Array(32).fill(0x5d) })
  const wallet = pkhDidOfKey(walletKey)
  let node: KilnNode
  beforeEach(async () => { node = await createNode({ doctypes: [tile(), rulesDoctype()], storage: memoryStorage() }) })
  afterEach(async () => { await node.stop() })

  async function walletSigner (): Promise<TileSigner> {
    const now = Date.now()
    const cacao = await signCacao({ privateKey: walletKey, chainId: 1, sessionDid: session.did, resources: ['ceramic://*'], issuedAt: new Date(now - 60_000), expiresAt: new Date(now + 3_600_000), domain: 'tasks.example' })
    return await cacaoSessionSigner(cacao, session)
  }

  it('lets a listed did:pkh account append through its session key, and a capability clause tell it from a plain key', async () => {
    const rules = await rulesDocument(node, {
      version: 1,
      rules: [
        { name: 'wallets-append', paths: ['/tasks'], who: { allOf: [{ anyOf: [wallet] }, { capability: { issuers: [wallet] } }] }, how: { appendOnly: true } }
      ]
    })
    const { id } = await governed(node, rules)
    const state = await append(node, id, await walletSigner(), 'from a wallet')
    expect(state.content).toEqual({ tasks: ['from a wallet'], closed: false })
    // The session key alone is not the account.
    await expect(append(node, id, session, 'from the bare session key')).rejects.toMatchObject({ name: 'RuleViolationError', details: { rule: 'wallets-append' } })
  })
})
