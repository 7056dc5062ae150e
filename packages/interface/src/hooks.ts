import type { AbortOptions, Logger, Startable } from './lifecycle.js'
import type { DocHead, DocState } from './state.js'
import type { Storage } from './storage.js'

/** A document the node has just written durably, as a hook sees it. */
export interface HookEvent {
  /** The DocID, as a string. */
  docId: string
  /** The new tip's CID, as a string. */
  tip: string
  /** The CommitID of the new tip (the DocID at that commit), as a string. */
  commitId: string
  /** The head as written: tip, log length, anchor status. */
  head: DocHead
  /** The new state (shared with the node: read it, never change it). */
  state: DocState
  /** The new state in the JSON form the HTTP API serves (`docStateToJSON` of `@kiln/codec`), computed when called. */
  json(): Record<string, unknown>
}

/** What the node gives a hook plugin. */
export interface HookComponents {
  logger?: Logger
  /** The node's storage, read only: a hook that missed writes (a crash) finds the documents changed since. */
  storage: Pick<Storage, 'getHead' | 'query' | 'listDocuments'>
  /** The latest state of a document the node holds, as the event a write of it would give; `undefined` when unknown. */
  current(docId: string, options?: AbortOptions): Promise<HookEvent | undefined>
}

/**
 * A plugin called after every durable write (and anchor-status change), in the pipeline's after-write stage: `written`
 * must return at once and never throw — the write is already acknowledged, and a hook never delays or undoes it.
 * The node starts hooks after its storage and stops them before it.
 */
export interface Hook extends Partial<Startable> {
  /** The hook's name, for logs. */
  readonly name: string
  written(event: HookEvent): void
  /** Registrations a hook plugin manages for the admin API (the webhooks plugin); the node exposes the first one. */
  readonly admin?: HookAdmin
}

/** A hook plugin: `webhooks(init)` returns one of these. */
export type HookFactory = (components: HookComponents) => Hook

/** Which writes a webhook is told of: at most one of a family, a schema (its DocID, any version) or one document. */
export interface WebhookFilter {
  family?: string
  schema?: string
  doc?: string
}

/** What an admin gives to register a webhook. */
export interface WebhookInput {
  /** An `http:` or `https:` URL each new state is POSTed to. */
  url: string
  /** No filter: every write. */
  filter?: WebhookFilter
}

/** A registered webhook, as listed (never with its secret). */
export interface WebhookRegistration {
  id: string
  url: string
  filter: WebhookFilter
  /** Milliseconds since the epoch. */
  createdAt: number
}

/** A webhook just registered: the only answer that carries its signing secret (hex). */
export interface WebhookCreated extends WebhookRegistration {
  secret: string
}

/** A registered webhook with its delivery counts. */
export interface WebhookStatus extends WebhookRegistration {
  /** Deliveries waiting (first try or a retry). */
  pending: number
  /** Deliveries answered 2xx since the webhook was added. */
  delivered: number
  /** Deliveries given up after the last attempt. */
  deadLetter: number
  /** The last failure of a delivery, cleared by nothing: it stays for the admin to read. */
  lastError?: string
}

/** The webhook registry a node exposes to its admin API (`node.hooks`). */
export interface HookAdmin {
  /** Registers a webhook; `InvalidRequestError` for a bad URL or filter. */
  add(input: WebhookInput, options?: AbortOptions): Promise<WebhookCreated>
  list(options?: AbortOptions): Promise<WebhookStatus[]>
  /** Removes a webhook and its pending deliveries; `HookNotFoundError` for an unknown id. */
  remove(id: string, options?: AbortOptions): Promise<void>
}
