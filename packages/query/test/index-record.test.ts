import { describe, it, expect, beforeAll } from 'vitest'
import { AnchorStatus, SignatureStatus } from '@kiln/interface'
import type { DocHead } from '@kiln/interface'
import { parseDocOrCommitID } from '@kiln/docid'
import { indexRecordOf } from '@kiln/query'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { fixedIds } from './fixtures.js'

let ids: { docs: string[], commits: string[] }
let head: (content: unknown, metadata: DocHead['metadata']) => DocHead
beforeAll(async () => {
  ids = await fixedIds()
  const genesis = CID.createV1(0x71, await sha256.digest(new TextEncoder().encode('genesis')))
  head = (content, metadata) => ({
    type: 0, content, metadata, signature: SignatureStatus.SIGNED, anchorStatus: AnchorStatus.PENDING, genesis, tip: genesis, logLength: 1
  })
})

describe('indexRecordOf', () => {
  it('records the metadata, content and links of a head, the clock for both times and the anchor time in milliseconds', () => {
    const content = { see: [`ceramic://${ids.docs[0]!}`, ids.commits[2]] }
    // A tag that is not a string, as a doctype's metadata may hold: left out.
    const metadata = { controllers: ['did:key:a'], family: 'notes', tags: ['red', 7, 'blue'], schema: ids.commits[1] } as unknown as DocHead['metadata']
    expect(indexRecordOf(head(content, metadata), { now: 1_000, anchoredAtSeconds: 1_700_000_000 })).toEqual({
      doctype: 0,
      controllers: ['did:key:a'],
      family: 'notes',
      tags: ['red', 'blue'],
      schemaDoc: parseDocOrCommitID(ids.commits[1]!).baseID.toString(),
      schemaCommit: ids.commits[1],
      content,
      links: [ids.docs[0], ids.docs[2]].sort(),
      createdAt: 1_000,
      updatedAt: 1_000,
      anchoredAt: 1_700_000_000_000
    })
  })

  it('leaves out what the head does not have: family, schema (or one that is not an ID) and the anchor time', () => {
    const metadata = { controllers: ['did:key:a'], family: 3, schema: 'not an id' } as unknown as DocHead['metadata']
    const record = indexRecordOf(head({ n: 1 }, metadata), { now: 5 })
    expect(record).toEqual({ doctype: 0, controllers: ['did:key:a'], tags: [], content: { n: 1 }, links: [], createdAt: 5, updatedAt: 5 })
  })

  it('copies the controllers: changing the record changes nothing of the head', () => {
    const source = head({}, { controllers: ['did:key:a'] })
    indexRecordOf(source, { now: 0 }).controllers.push('did:key:b')
    expect(source.metadata.controllers).toEqual(['did:key:a'])
  })
})
