import type { AbortOptions } from './lifecycle.js'

/**
 * What a storage backend indexes of one document for queries: written by the core in the same batch as the document's
 * head ({@link StorageBatch.putIndex}), so the index never disagrees with the state. Strings are canonical (DocIDs and
 * CommitIDs in their base36 string form).
 */
export interface DocIndexRecord {
  /** Doctype code (`0` tile, `1` account link, `64` schema). */
  doctype: number
  /** `metadata.controllers`. */
  controllers: string[]
  /** `metadata.family`, when set. */
  family?: string
  /** `metadata.tags` (empty when unset). */
  tags: string[]
  /** The DocID of the schema `metadata.schema` names, when set. */
  schemaDoc?: string
  /** The exact CommitID string of `metadata.schema`, when set. */
  schemaCommit?: string
  /** The document's content (any JSON value). */
  content: unknown
  /**
   * The DocIDs the content links to, each once, sorted: every string of the content (at any depth, object keys
   * excluded) that parses as a DocID or CommitID, with or without `ceramic://`, a CommitID counting as its DocID.
   * Computed by `@kiln/query`'s `linksOf`, which reads hostile content only so far (`LINK_LIMITS`: nesting, values
   * visited, length and number of strings tried); backends store what they are given.
   */
  links: string[]
  /**
   * When this node first stored the document, milliseconds since the epoch on the node's clock. A backend keeps the
   * first value it was given: a later `putIndex` of the same document never changes it. For a document a backend held
   * before it kept index records, when the backend indexed it (the first-seen time was never kept).
   */
  createdAt: number
  /** When this node last changed the document's head, milliseconds on the node's clock. */
  updatedAt: number
  /** The chain time of the document's latest anchor, milliseconds (the anchor's unix seconds × 1000); absent if never anchored. */
  anchoredAt?: number
}

/**
 * A JSON path into a document's content: the keys and array indexes from the root, as parsed from a JSON Pointer
 * (`/a/0/b` is `['a', '0', 'b']`; `[]`, the pointer `""`, is the whole content). A segment reads an object's own key,
 * or an array's element when it is a canonical decimal index (`0`, `12`, not `01`) below its length; anything else
 * (a step into a string, number, boolean or `null`) reads nothing. At most {@link QUERY_LIMITS.maxPathDepth} segments.
 */
export type ContentPath = string[]

/**
 * A condition on the value at a content path. Exactly one operator. The value at the path is *missing* when the path
 * reads nothing. JSON equality is deep: numbers by value, objects regardless of key order, arrays in order.
 * - `equalTo v`: the value is present and equals `v` (`equalTo: null` matches a present `null`).
 * - `notEqualTo v`: not `equalTo v` (a missing value matches).
 * - `in [v…]`: `equalTo` one of them. `notIn [v…]`: not `in` (a missing value matches).
 * - `gt`/`gte`/`lt`/`lte x`, `x` a number or a string: the value has the same JSON type as `x` and compares so; strings
 *   compare by Unicode code point. A value of another type, or missing, does not match.
 * - `isNull true`: the value is missing or `null`; `isNull false`: present and not `null`.
 * - `exists true`: the value is present (`null` included); `exists false`: missing.
 */
export type ContentCondition =
  | { equalTo: unknown }
  | { notEqualTo: unknown }
  | { in: unknown[] }
  | { notIn: unknown[] }
  | { gt: number | string }
  | { gte: number | string }
  | { lt: number | string }
  | { lte: number | string }
  | { isNull: boolean }
  | { exists: boolean }

/** A time range: `after` and `before` are exclusive bounds in milliseconds since the epoch; either may be absent. */
export interface TimeRange {
  after?: number
  before?: number
}

/**
 * A query filter, normalized (the node turns doctype names into codes, DocIDs into canonical strings, times into
 * milliseconds). Every kind matches documents as its comment says; combinations nest up to
 * {@link QUERY_LIMITS.maxFilterDepth} levels with at most {@link QUERY_LIMITS.maxFilterTerms} terms in all. A term is
 * a filter that is not `and`, `or` or `not`; the lists of `and`, `or`, `in`, `notIn` and `tags` are never empty.
 */
export type QueryFilter =
  | { and: QueryFilter[] }
  | { or: QueryFilter[] }
  | { not: QueryFilter }
  /** `doctype` equals the code. */
  | { doctype: number }
  /** The DID is one of `controllers`. */
  | { controller: string }
  /** `family` equals the string. */
  | { family: string }
  /** `tags` holds every one of `all` / at least one of `any`. */
  | { tags: { all: string[] } | { any: string[] } }
  /** A DocID matches `schemaDoc` (any version of the schema); a CommitID matches `schemaCommit` exactly. */
  | { schema: { doc: string } | { commit: string } }
  /** `links` holds the DocID (backlinks of that document). */
  | { linksTo: string }
  /** The content's value at `path` meets the condition. */
  | { content: { path: ContentPath } & ContentCondition }
  /** `createdAt` is in the range. */
  | { created: TimeRange }
  /** `updatedAt` is in the range. */
  | { updated: TimeRange }
  /** `anchoredAt` is in the range (a never-anchored document does not match). */
  | { anchored: TimeRange }

/**
 * The order of results. Time keys order by the record's time; `content` by the value at `path`: ascending, numbers
 * first (by value), then strings (by code point); descending is the exact reverse of that (strings, then numbers).
 * Other values and missing ones come last, in either direction. A document never anchored comes last when sorting by
 * `anchored`, in either direction. Ties (equal keys, and among the ones that come last) are broken by DocID string
 * compared by code point, in the same direction as the order.
 */
export type QuerySort =
  | { by: 'created' | 'updated' | 'anchored', order: 'asc' | 'desc' }
  | { by: 'content', path: ContentPath, order: 'asc' | 'desc' }

/** A normalized query as a storage backend receives it. */
export interface StorageQuery {
  /** Absent: every document. */
  filter?: QueryFilter
  sort: QuerySort
  /** Page size, 1 to {@link QUERY_LIMITS.maxPageSize}. */
  first: number
  /** A cursor from a previous page of the same filter and sort: the page starts after it. */
  after?: string
  /** Also count every document matching the filter (regardless of pages). */
  count?: boolean
}

/** A page of DocIDs, in order. */
export interface StorageQueryPage {
  ids: string[]
  /**
   * Whether documents may follow: then `endCursor` continues. A backend with a bounded scan (LevelDB on a filter no
   * index narrows) may return fewer than `first` ids, even none, with `hasNextPage` true: the pages together hold
   * exactly the matching documents, in order. A cursor is a position in the sort order (a sort key and a DocID), so a
   * page after it starts past that position even if the document there has changed or gone since.
   */
  hasNextPage: boolean
  /** The cursor after the last id examined (opaque, base64url); absent when `hasNextPage` is false. */
  endCursor?: string
  /** Every document matching the filter, when the query asked for a count. */
  count?: number
}

/** Limits every backend and front end enforces on queries; past them a query is an `InvalidQueryError`. */
export const QUERY_LIMITS = {
  maxPageSize: 1000,
  defaultPageSize: 20,
  maxPathDepth: 8,
  maxFilterDepth: 8,
  maxFilterTerms: 64,
  /** Values of one `in` / `notIn` / tags list. */
  maxListValues: 100,
  /** Bytes of one string in a filter, and of the JSON of one compared value. */
  maxValueBytes: 1024
} as const

/** What a storage backend offers for queries. */
export interface QueryableStorage {
  /** One page of the documents matching `query`, in its order. Rejects with `InvalidQueryError` for a bad cursor. */
  query(query: StorageQuery, options?: AbortOptions): Promise<StorageQueryPage>
  /** The index record of a document, `undefined` when it has none. */
  getIndexRecord(docId: string, options?: AbortOptions): Promise<DocIndexRecord | undefined>
}

/** A time bound of the user-facing query form: milliseconds since the epoch, or an ISO-8601 date string. */
export type TimeInput = number | string

/**
 * A filter as a user writes it (JSON, over HTTP and in the CLI); the node validates and normalizes it into a
 * {@link QueryFilter}. `path` is a JSON Pointer (`/a/0/b`); `schema` and `linksTo` take a DocID or CommitID string, with
 * or without `ceramic://`; `doctype` a name or a code; times milliseconds or ISO-8601 strings. See `docs/queries.md`.
 */
export type QueryFilterInput =
  | { and: QueryFilterInput[] }
  | { or: QueryFilterInput[] }
  | { not: QueryFilterInput }
  | { doctype: string | number }
  | { controller: string }
  | { family: string }
  | { tags: { all: string[] } | { any: string[] } }
  | { schema: string }
  | { linksTo: string }
  | { content: { path: string } & ContentCondition }
  | { created: { after?: TimeInput, before?: TimeInput } }
  | { updated: { after?: TimeInput, before?: TimeInput } }
  | { anchored: { after?: TimeInput, before?: TimeInput } }

/** A query as a user writes it: `node.query(q)`, `POST /api/v0/kiln/query`, `kiln query`. */
export interface QueryInput {
  filter?: QueryFilterInput
  /** Default `{ by: 'created', order: 'asc' }`; `path` (a JSON Pointer) only with `by: 'content'`. */
  sort?: { by: 'created' | 'updated' | 'anchored' | 'content', path?: string, order?: 'asc' | 'desc' }
  /** Page size, default {@link QUERY_LIMITS.defaultPageSize}, at most {@link QUERY_LIMITS.maxPageSize}. */
  first?: number
  /** The `endCursor` of the previous page. */
  after?: string
  /** Also count every matching document. */
  count?: boolean
}

/** Where a page ends: `endCursor` continues when `hasNextPage`. */
export interface PageInfo {
  hasNextPage: boolean
  endCursor?: string
}

/** A page of query results: each document's id and latest state, in the query's order. */
export interface QueryResult<Snapshot> {
  items: Snapshot[]
  pageInfo: PageInfo
  /** Every matching document, when the query asked for a count. */
  count?: number
}

/** Options of a paged listing such as backlinks. */
export interface PageOptions extends AbortOptions {
  first?: number
  after?: string
}
