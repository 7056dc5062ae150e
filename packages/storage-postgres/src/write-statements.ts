import type { NetWrites } from './batch-writes.js'
import { jsonText } from './batch-writes.js'
import { run, type Client, type Statement } from './connection.js'

// Each kind of row is written by one statement of fixed text whatever the number of rows (arrays unnested on the
// server), prepared once per connection under its name. Bytes travel as base64 text in text[] parameters.

const BLOCKS: Statement = { name: 'kiln_write_blocks_v1', text: `INSERT INTO kiln_blocks (cid, bytes)
      SELECT decode(c, 'base64'), decode(b, 'base64') FROM unnest($1::text[], $2::text[]) AS t(c, b)
      ON CONFLICT (cid) DO NOTHING` }
const TRUNCATE: Statement = { name: 'kiln_write_truncate_v1', text: `DELETE FROM kiln_log_entries e USING unnest($1::text[], $2::int8[]) AS t(doc_id, seq)
      WHERE e.doc_id = t.doc_id AND e.seq >= t.seq` }
const ENTRIES: Statement = { name: 'kiln_write_entries_v1', text: `INSERT INTO kiln_log_entries (doc_id, seq, cid, entry_type, anchor_time)
      SELECT d, s, decode(c, 'base64'), ty, tm FROM unnest($1::text[], $2::int8[], $3::text[], $4::int2[], $5::float8[]) AS t(d, s, c, ty, tm)
      ON CONFLICT (doc_id, seq) DO UPDATE SET cid = excluded.cid, entry_type = excluded.entry_type, anchor_time = excluded.anchor_time` }
const COMMITS: Statement = { name: 'kiln_write_commits_v1', text: `INSERT INTO kiln_commit_index (doc_id, cid, seq)
      SELECT d, decode(c, 'base64'), s FROM unnest($1::text[], $2::text[], $3::int8[]) AS t(d, c, s)
      ON CONFLICT (doc_id, cid) DO UPDATE SET seq = excluded.seq` }
const DROP: Statement = { name: 'kiln_write_drop_v1', text: `DELETE FROM kiln_checkpoints k USING unnest($1::text[], $2::int8[]) AS t(doc_id, seq)
      WHERE k.doc_id = t.doc_id AND k.seq >= t.seq` }
const CHECKPOINTS: Statement = { name: 'kiln_write_checkpoints_v1', text: `INSERT INTO kiln_checkpoints (doc_id, seq, head)
      SELECT d, s, decode(h, 'base64') FROM unnest($1::text[], $2::int8[], $3::text[]) AS t(d, s, h)
      ON CONFLICT (doc_id, seq) DO UPDATE SET head = excluded.head` }
const HEADS: Statement = { name: 'kiln_write_heads_v1', text: `INSERT INTO kiln_heads (doc_id, head)
      SELECT d, decode(h, 'base64') FROM unnest($1::text[], $2::text[]) AS t(d, h)
      ON CONFLICT (doc_id) DO UPDATE SET head = excluded.head` }
const STATUSES: Statement = { name: 'kiln_write_statuses_v1', text: `INSERT INTO kiln_anchor_status (doc_id, tip, status)
      SELECT d, decode(t, 'base64'), s FROM unnest($1::text[], $2::text[], $3::int2[]) AS u(d, t, s)
      ON CONFLICT (doc_id) DO UPDATE SET tip = excluded.tip, status = excluded.status` }
const RECORDS: Statement = { name: 'kiln_write_records_v1', text: `INSERT INTO kiln_documents (doc_id, doctype, controllers, family, tags, schema_doc, schema_commit, content, links, created_at, updated_at, anchored_at)
      SELECT r.doc_id, r.doctype, ARRAY(SELECT jsonb_array_elements_text(r.controllers)), r.family,
        ARRAY(SELECT jsonb_array_elements_text(r.tags)), r.schema_doc, r.schema_commit, r.content -> 'v',
        ARRAY(SELECT jsonb_array_elements_text(r.links)), r.created_at, r.updated_at, r.anchored_at
      FROM jsonb_to_recordset($1::text::jsonb) AS r(doc_id text, doctype integer, controllers jsonb, family text, tags jsonb,
        schema_doc text, schema_commit text, content jsonb, links jsonb, created_at bigint, updated_at bigint, anchored_at bigint)
      ON CONFLICT (doc_id) DO UPDATE SET doctype = excluded.doctype, controllers = excluded.controllers, family = excluded.family,
        tags = excluded.tags, schema_doc = excluded.schema_doc, schema_commit = excluded.schema_commit, content = excluded.content,
        links = excluded.links, updated_at = excluded.updated_at, anchored_at = excluded.anchored_at` }
const PINS: Statement = { name: 'kiln_write_pins_v1', text: 'INSERT INTO kiln_pins (doc_id) SELECT unnest($1::text[]) ON CONFLICT (doc_id) DO NOTHING' }

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

/** Writes `net` on the client of a transaction, cuts before puts. */
export async function writeRows (client: Client, net: NetWrites): Promise<void> {
  if (net.blocks.size > 0) {
    const blocks = [...net.blocks.values()].sort((a, b) => compareBytes(a.cid, b.cid))
    await run(client, BLOCKS, [blocks.map((b) => base64(b.cid)), blocks.map((b) => base64(b.bytes))])
  }
  if (net.truncations.size > 0) {
    const [docs, seqs] = cuts(net.truncations)
    await run(client, TRUNCATE, [docs, seqs])
  }
  const entries = [...net.entries.values()].flatMap((m) => [...m.values()])
  if (entries.length > 0) {
    await run(client, ENTRIES, [entries.map((e) => e.docId), entries.map((e) => e.seq), entries.map((e) => base64(e.cid)), entries.map((e) => e.type), entries.map((e) => e.time)])
  }
  if (net.commits.size > 0) {
    const commits = [...net.commits.values()]
    await run(client, COMMITS, [commits.map((c) => c.docId), commits.map((c) => base64(c.cid)), commits.map((c) => c.seq)])
  }
  if (net.drops.size > 0) {
    const [docs, seqs] = cuts(net.drops)
    await run(client, DROP, [docs, seqs])
  }
  const checkpoints = [...net.checkpoints.entries()].flatMap(([docId, m]) => [...m.entries()].map(([seq, head]) => ({ docId, seq, head })))
  if (checkpoints.length > 0) {
    await run(client, CHECKPOINTS, [checkpoints.map((c) => c.docId), checkpoints.map((c) => c.seq), checkpoints.map((c) => base64(c.head))])
  }
  if (net.heads.size > 0) {
    const heads = [...net.heads.entries()].sort(([a], [b]) => compareStrings(a, b))
    await run(client, HEADS, [heads.map(([d]) => d), heads.map(([, h]) => base64(h))])
  }
  if (net.statuses.size > 0) {
    const statuses = [...net.statuses.entries()]
    await run(client, STATUSES, [statuses.map(([d]) => d), statuses.map(([, r]) => base64(r.tip)), statuses.map(([, r]) => r.status)])
  }
  if (net.records.size > 0) {
    const records = [...net.records.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([docId, r]) => ({
      doc_id: docId,
      doctype: r.doctype,
      controllers: r.controllers,
      family: r.family ?? null,
      tags: r.tags,
      schema_doc: r.schemaDoc ?? null,
      schema_commit: r.schemaCommit ?? null,
      // Boxed: jsonb_to_recordset reads a JSON null field as SQL NULL, and a document's content may be null.
      content: { v: r.content },
      links: r.links,
      created_at: r.createdAt,
      updated_at: r.updatedAt,
      anchored_at: r.anchoredAt ?? null
    }))
    // One jsonb parameter: a row holds lists, which unnest would flatten.
    await run(client, RECORDS, [jsonText(records) ?? '[]'])
  }
  if (net.pins.size > 0) {
    await run(client, PINS, [[...net.pins].sort(compareStrings)])
  }
}

function cuts (map: Map<string, number>): [string[], number[]] {
  const list = [...map.entries()]
  return [list.map(([d]) => d), list.map(([, s]) => s)]
}

function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0)
  return a.byteLength - b.byteLength
}
