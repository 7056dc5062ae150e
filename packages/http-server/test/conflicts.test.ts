import { docStateFromJSON } from '@kiln/codec'
import { afterEach, describe, expect, it } from 'vitest'
import { call, createTile, startHarness, updateJSON, waitForAnchored, type Harness } from './fixtures/harness.js'

let harness: Harness | undefined
afterEach(async () => { await harness?.close(); harness = undefined })

describe('an update built on a tip an anchor has since extended', () => {
  it('is answered 409 naming the winning tip; rebuilt on that tip it is applied and the document holds it', async () => {
    harness = await startHarness()
    const { url } = harness
    const { streamId, state } = await createTile(url, { v: 0 }, undefined, { anchor: true })
    // Built on the genesis while its anchor is on the way.
    const stale = await updateJSON(state, { v: 1 })
    await waitForAnchored(url, streamId)
    const anchored = docStateFromJSON((await call(url, `/api/v0/streams/${streamId}`)).json.state)
    const winner = anchored.log[anchored.log.length - 1]!.cid.toString()

    const refused = await call(url, '/api/v0/commits', { body: { streamId, commit: stale, opts: { anchor: false } } })
    expect(refused.status).toBe(409)
    expect(refused.json).toMatchObject({ name: 'ConflictingCommitError', details: { docId: streamId, tip: winner } })
    expect(docStateFromJSON((await call(url, `/api/v0/streams/${streamId}`)).json.state)).toEqual(anchored)

    const rebuilt = await updateJSON(anchored, { v: 1 })
    const applied = await call(url, '/api/v0/commits', { body: { streamId, commit: rebuilt, opts: { anchor: false } } })
    expect(applied.status).toBe(200)
    const after = docStateFromJSON((await call(url, `/api/v0/streams/${streamId}`)).json.state)
    expect(after.content).toEqual({ v: 1 })
    expect(after.log.map((e) => e.cid.toString()).slice(0, 2)).toEqual(anchored.log.map((e) => e.cid.toString()))
    expect(after.log).toHaveLength(3)
  })
})
