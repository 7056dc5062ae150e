import type { TransactionSql, PendingQuery, Row } from 'postgres'
import type { NetWrites } from './batch-writes.js'
import { jsonText } from './batch-writes.js'

// Each kind of row is written by one statement of fixed text whatever the number of rows (arrays unnested on the
// server), so the driver prepares each statement once per connection. Bytes travel as base64 text: the driver sends
// a JavaScript array of buffers as one bytea, not as bytea[].

/** Statements of fixed text are prepared once per connection: the driver then pipelines them without a describe round trip each. */
const PREPARED = { prepare: true }

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

/** The statements that write `net` inside transaction `tx`, cuts before puts; the caller sends them pipelined. */
export function writeStatements (tx: TransactionSql, net: NetWrites): Array<PendingQuery<Row[]>> {
  const queries: Array<PendingQuery<Row[]>> = []
  if (net.blocks.size > 0) {
    const blocks = [...net.blocks.values()].sort((a, b) => compareBytes(a.cid, b.cid))
    queries.push(tx.unsafe(`INSERT INTO kiln_blocks (cid, bytes)
      SELECT decode(c, 'base64'), decode(b, 'base64') FROM unnest($1::text[], $2::text[]) AS t(c, b)
      ON CONFLICT (cid) DO NOTHING`, [blocks.map((b) => base64(b.cid)), blocks.map((b) => base64(b.bytes))], PREPARED))
  }
  if (net.truncations.size > 0) {
    const [docs, seqs] = cuts(net.truncations)
    queries.push(tx.unsafe(`DELETE FROM kiln_log_entries e USING unnest($1::text[], $2::int8[]) AS t(doc_id, seq)
      WHERE e.doc_id = t.doc_id AND e.seq >= t.seq`, [docs, seqs], PREPARED))
  }
  const entries = [...net.entries.values()].flatMap((m) => [...m.values()])
  if (entries.length > 0) {
    queries.push(tx.unsafe(`INSERT INTO kiln_log_entries (doc_id, seq, cid, entry_type, anchor_time)
      SELECT d, s, decode(c, 'base64'), ty, tm FROM unnest($1::text[], $2::int8[], $3::text[], $4::int2[], $5::float8[]) AS t(d, s, c, ty, tm)
      ON CONFLICT (doc_id, seq) DO UPDATE SET cid = excluded.cid, entry_type = excluded.entry_type, anchor_time = excluded.anchor_time`,
    [entries.map((e) => e.docId), entries.map((e) => e.seq), entries.map((e) => base64(e.cid)), entries.map((e) => e.type), entries.map((e) => e.time)], PREPARED))
  }
  if (net.commits.size > 0) {
    const commits = [...net.commits.values()]
    queries.push(tx.unsafe(`INSERT INTO kiln_commit_index (doc_id, cid, seq)
      SELECT d, decode(c, 'base64'), s FROM unnest($1::text[], $2::text[], $3::int8[]) AS t(d, c, s)
      ON CONFLICT (doc_id, cid) DO UPDATE SET seq = excluded.seq`,
    [commits.map((c) => c.docId), commits.map((c) => base64(c.cid)), commits.map((c) => c.seq)], PREPARED))
  }
  if (net.drops.size > 0) {
    const [docs, seqs] = cuts(net.drops)
    queries.push(tx.unsafe(`DELETE FROM kiln_checkpoints k USING unnest($1::text[], $2::int8[]) AS t(doc_id, seq)
      WHERE k.doc_id = t.doc_id AND k.seq >= t.seq`, [docs, seqs], PREPARED))
  }
  const checkpoints = [...net.checkpoints.entries()].flatMap(([docId, m]) => [...m.entries()].map(([seq, head]) => ({ docId, seq, head })))
  if (checkpoints.length > 0) {
    queries.push(tx.unsafe(`INSERT INTO kiln_checkpoints (doc_id, seq, head)
      SELECT d, s, decode(h, 'base64') FROM unnest($1::text[], $2::int8[], $3::text[]) AS t(d, s, h)
      ON CONFLICT (doc_id, seq) DO UPDATE SET head = excluded.head`,
    [checkpoints.map((c) => c.docId), checkpoints.map((c) => c.seq), checkpoints.map((c) => base64(c.head))], PREPARED))
  }
  if (net.heads.size > 0) {
    const heads = [...net.heads.entries()].sort(([a], [b]) => compareStrings(a, b))
    queries.push(tx.unsafe(`INSERT INTO kiln_heads (doc_id, head)
      SELECT d, decode(h, 'base64') FROM unnest($1::text[], $2::text[]) AS t(d, h)
      ON CONFLICT (doc_id) DO UPDATE SET head = excluded.head`, [heads.map(([d]) => d), heads.map(([, h]) => base64(h))], PREPARED))
  }
  if (net.statuses.size > 0) {
    const statuses = [...net.statuses.entries()]
    queries.push(tx.unsafe(`INSERT INTO kiln_anchor_status (doc_id, tip, status)
      SELECT d, decode(t, 'base64'), s FROM unnest($1::text[], $2::text[], $3::int2[]) AS u(d, t, s)
      ON CONFLICT (doc_id) DO UPDATE SET tip = excluded.tip, status = excluded.status`,
    [statuses.map(([d]) => d), statuses.map(([, r]) => base64(r.tip)), statuses.map(([, r]) => r.status)], PREPARED))
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
    queries.push(tx.unsafe(`INSERT INTO kiln_documents (doc_id, doctype, controllers, family, tags, schema_doc, schema_commit, content, links, created_at, updated_at, anchored_at)
      SELECT r.doc_id, r.doctype, ARRAY(SELECT jsonb_array_elements_text(r.controllers)), r.family,
        ARRAY(SELECT jsonb_array_elements_text(r.tags)), r.schema_doc, r.schema_commit, r.content -> 'v',
        ARRAY(SELECT jsonb_array_elements_text(r.links)), r.created_at, r.updated_at, r.anchored_at
      FROM jsonb_to_recordset($1::text::jsonb) AS r(doc_id text, doctype integer, controllers jsonb, family text, tags jsonb,
        schema_doc text, schema_commit text, content jsonb, links jsonb, created_at bigint, updated_at bigint, anchored_at bigint)
      ON CONFLICT (doc_id) DO UPDATE SET doctype = excluded.doctype, controllers = excluded.controllers, family = excluded.family,
        tags = excluded.tags, schema_doc = excluded.schema_doc, schema_commit = excluded.schema_commit, content = excluded.content,
        links = excluded.links, updated_at = excluded.updated_at, anchored_at = excluded.anchored_at`, [jsonText(records) ?? '[]'], PREPARED))
  }
  if (net.pins.size > 0) {
    queries.push(tx.unsafe('INSERT INTO kiln_pins (doc_id) SELECT unnest($1::text[]) ON CONFLICT (doc_id) DO NOTHING', [[...net.pins].sort(compareStrings)], PREPARED))
  }
  return queries
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
