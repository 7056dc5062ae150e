// The explorer page: search, a document's view (content, metadata, log, anchor proofs verified here, links, live
// updates), and the node's view. It talks only to the node that served it, through the HTTP API (docs/explorer.md).
import { verifyAnchor } from './merkle.js'

const API = '/api/v0'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type Child = Node | string | null | undefined | false

/** A DOM element with attributes and children; text is always text, never parsed as HTML. */
function h (tag: string, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, value)
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child)
  return el
}

/** An answer of the API that was not 2xx: its status, error name and message. */
interface ApiFailure { status: number, name: string, message: string }

async function api<T> (path: string, init?: RequestInit): Promise<{ ok: true, value: T } | { ok: false, failure: ApiFailure }> {
  let res: Response
  try {
    res = await fetch(API + path, init)
  } catch (err) {
    return { ok: false, failure: { status: 0, name: 'NetworkError', message: `The node cannot be reached: ${String(err)}` } }
  }
  const text = await res.text()
  let body: unknown
  try { body = JSON.parse(text) } catch { body = undefined }
  if (!res.ok) {
    const b = body as { name?: string, error?: string } | undefined
    return { ok: false, failure: { status: res.status, name: b?.name ?? 'Error', message: b?.error ?? text.slice(0, 200) } }
  }
  return { ok: true, value: body as T }
}

async function fetchBlock (cid: string): Promise<Uint8Array> {
  const res = await fetch(`${API}/kiln/blocks/${encodeURIComponent(cid)}`)
  if (!res.ok) throw new TypeError(`the node answered ${res.status}`)
  return new Uint8Array(await res.arrayBuffer())
}

const main = (): HTMLElement => document.getElementById('main')!
const message = (): HTMLElement => document.getElementById('message')!

/** Shows a message in the live region (`kind` styles it); empty text clears it. */
function say (text: string, kind: 'error' | 'not-found' | 'info' = 'info'): void {
  const box = message()
  box.textContent = text
  box.className = text === '' ? 'message' : `message ${kind}`
  box.hidden = text === ''
}

let closeLive: (() => void) | undefined

// ---------- JSON tree ----------

/** `value` as a tree of <details>: objects and arrays fold, leaves are typed spans. */
function jsonTree (value: Json, label?: string, open = true): HTMLElement {
  const key = label === undefined ? null : h('span', { class: 'key' }, `${label}: `)
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)
    const summary = Array.isArray(value) ? `[${value.length}]` : `{${entries.length}}`
    const details = h('details', open ? { open: '' } : {}, h('summary', {}, key, h('span', { class: 'count' }, summary)))
    const list = h('ul', { class: 'tree' })
    for (const [k, v] of entries) list.append(h('li', {}, jsonTree(v, k, false)))
    details.append(list)
    return details
  }
  const type = value === null ? 'null' : typeof value
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value)
  const leaf = isDocId(value) ? docLink(value as string) : h('span', { class: `value ${type}` }, text)
  return h('span', { class: 'leaf' }, key, leaf)
}

// ---------- ids ----------

/** Strips `ceramic://` or `kiln://`; what is left of a DocID or CommitID is base36 (`k…`) in lower case. */
function normalizeId (text: string): string {
  return text.trim().replace(/^(ceramic|kiln):\/\//, '')
}

/** Whether `value` looks like a DocID (base36 multibase `k`); the node has the last word. */
function isDocId (value: unknown): boolean {
  return typeof value === 'string' && /^(ceramic:\/\/)?k[0-9a-z]{40,200}$/.test(value)
}

function docLink (id: string): HTMLElement {
  const plain = normalizeId(id)
  return h('a', { href: `#/doc/${plain}`, class: 'docid' }, plain)
}

/** DocIDs found anywhere in `value`: the document's links. */
function linksIn (value: unknown, found = new Set<string>()): Set<string> {
  if (isDocId(value)) found.add(normalizeId(value as string))
  else if (Array.isArray(value)) for (const v of value) linksIn(v, found)
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) linksIn(v, found)
  return found
}

// ---------- document view ----------

interface StateJSON {
  type: number
  doctype?: string
  content: Json
  metadata: { controllers?: string[], family?: string, tags?: string[], schema?: string, rules?: string, [k: string]: unknown }
  anchorStatus: string
  log: Array<{ cid: string, type: number, timestamp?: number }>
}
interface LogItem { cid: string, type: number, timestamp?: number, value?: Record<string, unknown>, proof?: { chainId: string, root: string, txHash: string, txType?: string } }

const COMMIT_TYPES = ['genesis', 'signed', 'anchor']

function time (seconds: number | undefined): string {
  return seconds === undefined ? '—' : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
}

/** The DID that signed a signed commit: its JWS protected header's `kid`, without the key fragment. */
function signerOf (value: Record<string, unknown> | undefined): string | undefined {
  const jws = value?.jws as { signatures?: Array<{ protected?: string }> } | undefined
  const header = jws?.signatures?.[0]?.protected
  if (typeof header !== 'string') return undefined
  try {
    const json = JSON.parse(atob(header.replace(/-/g, '+').replace(/_/g, '/'))) as { kid?: unknown }
    return typeof json.kid === 'string' ? json.kid.split('#')[0] : undefined
  } catch {
    return undefined
  }
}

function field (name: string, ...value: Child[]): HTMLElement[] {
  const shown = value.filter((v) => v !== null && v !== undefined && v !== false && v !== '')
  return [h('dt', {}, name), h('dd', {}, ...(shown.length === 0 ? ['—'] : shown))]
}

function metadataView (meta: StateJSON['metadata'], state: StateJSON): HTMLElement {
  const dl = h('dl', { class: 'meta' })
  dl.append(
    ...field('Doctype', state.doctype ?? String(state.type)),
    ...field('Controllers', ...(meta.controllers ?? []).map((c) => h('code', { class: 'did' }, c))),
    ...field('Family', meta.family),
    ...field('Tags', ...(meta.tags ?? []).map((t) => h('span', { class: 'tag' }, t))),
    ...field('Schema', typeof meta.schema === 'string' ? docLink(meta.schema) : undefined),
    ...field('Rules', typeof meta.rules === 'string' ? docLink(meta.rules) : undefined),
    ...field('Anchor status', state.anchorStatus)
  )
  return dl
}

function proofView (item: LogItem): HTMLElement {
  const verdict = h('p', { class: 'verdict pending', role: 'status' }, '… verifying the Merkle path')
  const proof = item.proof
  const box = h('div', { class: 'proof' },
    h('dl', { class: 'meta' },
      ...field('Chain', proof?.chainId),
      ...field('Transaction', proof === undefined ? undefined : h('code', {}, proof.txHash)),
      ...field('Block time', time(item.timestamp)),
      ...field('Merkle root', proof === undefined ? undefined : h('code', {}, proof.root)),
      ...field('Path', typeof item.value?.path === 'string' ? (item.value.path === '' ? '(root)' : item.value.path) : undefined)),
    verdict)
  void (async () => {
    const result = item.value === undefined ? { ok: false as const, reason: 'the node did not send the anchor commit' } : await verifyAnchor(item.value, fetchBlock)
    verdict.className = `verdict ${result.ok ? 'valid' : 'invalid'}`
    verdict.textContent = result.ok
      ? `✓ Merkle path verified: ${result.steps} step${result.steps === 1 ? '' : 's'} from the root to commit ${String(item.value?.prev)}`
      : `✗ Merkle path not verified: ${result.reason}`
  })()
  return box
}

function logView (items: LogItem[]): HTMLElement {
  const list = h('ol', { class: 'timeline', id: 'log' })
  for (const item of items) {
    const type = COMMIT_TYPES[item.type] ?? String(item.type)
    const signer = item.type === 1 ? signerOf(item.value) : undefined
    list.append(h('li', { class: `commit ${type}`, 'data-cid': item.cid },
      h('span', { class: 'commit-type' }, type),
      h('code', { class: 'cid' }, item.cid),
      signer === undefined ? null : h('span', { class: 'signer' }, 'signed by ', h('code', {}, signer)),
      item.timestamp === undefined ? null : h('span', { class: 'anchor-time' }, `anchored ${time(item.timestamp)}`),
      item.type === 2 ? proofView(item) : null))
  }
  return list
}

function section (title: string, id: string, ...children: Child[]): HTMLElement {
  return h('section', { 'aria-labelledby': `${id}-title`, id: `${id}-section` }, h('h2', { id: `${id}-title` }, title), ...children)
}

async function showDocument (id: string): Promise<void> {
  closeLive?.()
  const root = main()
  root.replaceChildren(h('p', { class: 'loading' }, `Loading ${id}…`))
  const loaded = await api<{ streamId: string, state: StateJSON }>(`/streams/${encodeURIComponent(id)}`)
  if (!loaded.ok) {
    root.replaceChildren()
    const f = loaded.failure
    if (f.status === 404) say(`Not found: no document ${id} on this node (${f.message})`, 'not-found')
    else say(`Cannot show ${id}: ${f.name}: ${f.message}`, 'error')
    return
  }
  say('')
  const docId = loaded.value.streamId
  const live = h('p', { class: 'live', id: 'live', role: 'status' }, 'Connecting to live updates…')
  const body = h('div', { class: 'doc-body' })
  root.replaceChildren(h('header', { class: 'doc-header' }, h('h1', { tabindex: '-1', id: 'doc-title' }, 'Document ', h('code', {}, docId)), live), body)
  document.getElementById('doc-title')?.focus()

  const render = async (state: StateJSON): Promise<void> => {
    const log = await api<{ log: LogItem[] }>(`/kiln/streams/${encodeURIComponent(id)}/log`)
    const backlinks = await api<{ items: Array<{ streamId: string }> }>(`/kiln/streams/${encodeURIComponent(docId)}/backlinks?first=50`)
    const links = [...linksIn(state.content)]
    body.replaceChildren(
      section('Content', 'content', h('div', { class: 'json', id: 'content' }, jsonTree(state.content))),
      section('Metadata', 'metadata', metadataView(state.metadata, state)),
      section(`Log (${state.log.length} commits)`, 'log', log.ok ? logView(log.value.log) : h('p', { class: 'message error' }, `The log cannot be read: ${log.failure.message}`)),
      section('Links', 'links', links.length === 0 ? h('p', {}, 'No DocIDs in the content.') : h('ul', { class: 'links' }, ...links.map((l) => h('li', {}, docLink(l))))),
      section('Backlinks', 'backlinks', !backlinks.ok
        ? h('p', {}, `Backlinks cannot be read: ${backlinks.failure.message}`)
        : backlinks.value.items.length === 0 ? h('p', {}, 'No document on this node links here.') : h('ul', { class: 'links' }, ...backlinks.value.items.map((b) => h('li', {}, docLink(b.streamId)))))
    )
  }
  await render(loaded.value.state)

  // A CommitID shows one state of the past: nothing to follow.
  if (docId !== normalizeId(id)) { live.textContent = 'A past state (a CommitID): not live.'; return }
  const events = new EventSource(`${API}/kiln/streams/${encodeURIComponent(docId)}/watch`)
  let tip = loaded.value.state.log.at(-1)?.cid
  let rendering = Promise.resolve()
  events.addEventListener('open', () => { live.textContent = '● Live: new commits appear as they land.'; live.className = 'live on' })
  events.addEventListener('error', () => { live.textContent = 'Live updates interrupted; reconnecting…'; live.className = 'live off' })
  events.addEventListener('state', (event) => {
    const { state } = JSON.parse((event as MessageEvent<string>).data) as { state: StateJSON }
    const next = state.log.at(-1)?.cid
    if (next === tip) return
    tip = next
    rendering = rendering.then(async () => { await render(state) })
  })
  closeLive = () => { events.close(); closeLive = undefined }
}

// ---------- node view ----------

/** Where catch-up sync stands with one peer, as `GET /api/v0/kiln/node` tells it. */
interface PeerSync { state: 'waiting' | 'syncing' | 'in-sync' | 'backing-off', failures: number, last?: { at: number, missing: number, peerMissing: number, rounds: number }, progress?: { wanted: number, received: number, applied: number } }
interface PeerInfo { peerId: string, addresses: string[], sync?: PeerSync }

/** A peer's sync state in words. */
function syncWords (sync: PeerSync | undefined): string {
  if (sync === undefined) return 'no catch-up sync'
  const when = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
  switch (sync.state) {
    case 'waiting': return 'waiting for the first sync'
    case 'syncing': return sync.progress === undefined ? 'syncing now' : `syncing now: ${sync.progress.applied} of ${sync.progress.wanted} commits applied`
    case 'in-sync': return sync.last === undefined ? 'in sync' : `in sync since ${when(sync.last.at)} (the last sync brought ${sync.last.missing} commit${sync.last.missing === 1 ? '' : 's'})`
    case 'backing-off': return `sync failing: ${sync.failures} failure${sync.failures === 1 ? '' : 's'} in a row, retrying later`
  }
}

function peerItem (peer: PeerInfo): HTMLElement {
  return h('li', { class: 'peer' },
    h('code', {}, peer.peerId), h('br'),
    h('span', { class: `sync sync-${peer.sync?.state ?? 'none'}` }, syncWords(peer.sync)),
    ...peer.addresses.map((a) => h('div', { class: 'muted' }, h('code', {}, a))))
}

async function showNode (): Promise<void> {
  closeLive?.()
  say('')
  const root = main()
  root.replaceChildren(h('h1', { tabindex: '-1', id: 'node-title' }, 'This node'))
  const [info, chains, health, recent] = await Promise.all([
    api<NodeInfo>('/kiln/node'),
    api<{ supportedChains: string[] }>('/node/chains'),
    fetch(`${API}/node/healthcheck`).then((r) => r.ok, () => false),
    api<{ items: Array<{ streamId: string, state: StateJSON }> }>('/kiln/query', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sort: { by: 'updated', order: 'desc' }, first: 10 })
    })
  ])
  const node = info.ok ? info.value : undefined
  const status = health ? 'healthy' : 'not healthy'
  const syncField = h('dd', { id: 'sync-summary', 'aria-live': 'polite' }, syncSummary(node))
  root.append(
    section('Status', 'status', h('dl', { class: 'meta' },
      ...field('Health', status),
      h('dt', {}, 'Sync'), syncField,
      ...field('DID', node?.did == null ? undefined : h('code', {}, node.did)),
      ...field('PeerId', node?.peerId == null ? undefined : h('code', {}, node.peerId)),
      ...field('Topic', node?.topic ?? undefined),
      ...field('Addresses', ...(node?.addresses ?? []).map((a) => h('code', {}, a))))),
    section('Peers', 'peers', peerList(node)),
    section('Chains', 'chains', !chains.ok || chains.value.supportedChains.length === 0 ? h('p', {}, 'No anchor chain.') : h('ul', {}, ...chains.value.supportedChains.map((c) => h('li', {}, h('code', {}, c))))),
    section('Recent documents', 'recent', !recent.ok
      ? h('p', {}, `Recent documents cannot be read: ${recent.failure.message}`)
      : recent.value.items.length === 0 ? h('p', {}, 'This node stores no document yet.')
        : h('ul', { class: 'links', id: 'recent' }, ...recent.value.items.map((d) => h('li', {}, docLink(d.streamId), ' ', h('span', { class: 'muted' }, d.state.doctype ?? '')))))
  )
  // Peers come and go and sync moves on: the network part is read again every few seconds while the view is shown.
  if (node?.network != null) {
    const timer = setInterval(() => {
      if (!syncField.isConnected) { clearInterval(timer); return }
      void api<NodeInfo>('/kiln/node').then((again) => {
        if (!again.ok) return
        syncField.replaceChildren(syncSummary(again.value))
        document.getElementById('peers-section')?.replaceChildren(h('h2', { id: 'peers-title' }, 'Peers'), peerList(again.value))
      })
    }, NODE_REFRESH_MS)
    closeLive = () => { clearInterval(timer); closeLive = undefined }
  }
}

/** How often the node view reads the node's peers and sync state again. */
const NODE_REFRESH_MS = 3_000

type NodeInfo = { did: string | null, peerId: string | null, addresses: string[], network: string | null, topic: string | null, peers: PeerInfo[] }

function syncSummary (node: NodeInfo | undefined): string {
  if (node?.network == null) return 'on no network (standalone)'
  const inSync = node.peers.filter((p) => p.sync?.state === 'in-sync').length
  return `${node.peers.length} peer${node.peers.length === 1 ? '' : 's'} on ${node.network}${node.peers.length === 0 ? '' : `, ${inSync} in sync`}`
}

function peerList (node: NodeInfo | undefined): HTMLElement {
  return (node?.peers.length ?? 0) === 0 ? h('p', {}, 'No peers connected.') : h('ul', { class: 'peers', id: 'peers' }, ...node!.peers.map(peerItem))
}

// ---------- routing and search ----------

function route (): void {
  const hash = decodeURIComponent(location.hash.slice(1))
  if (hash.startsWith('/doc/')) void showDocument(hash.slice('/doc/'.length))
  else void showNode()
}

function search (event: SubmitEvent): void {
  event.preventDefault()
  const input = document.getElementById('search-input') as HTMLInputElement
  const text = normalizeId(input.value)
  if (text === '') { say('Type a DocID or CommitID to search for.', 'error'); input.focus(); return }
  // DocIDs and CommitIDs are base36 (`k…`) or base32 (`b…`) strings: anything else cannot be one.
  if (!/^[kb][0-9a-z]+$/.test(text)) {
    say(`"${input.value.trim().slice(0, 80)}" is not a DocID or CommitID: expected a string like k2t6wyfsu4pg…`, 'error')
    main().replaceChildren()
    input.focus()
    return
  }
  if (location.hash === `#/doc/${text}`) route()
  else location.hash = `#/doc/${text}`
}

document.getElementById('search')!.addEventListener('submit', search)
window.addEventListener('hashchange', route)
// A link to the view already in the address bar changes no hash: show that view again all the same.
document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest('a[href^="#"]')
  if (link !== null && link !== undefined && link.getAttribute('href') === location.hash) route()
})
route()
