import { encodeRecord, signRecord, type SignedBlocks } from '@kiln/codec'
import {
  AnchorStatus, BlockNotFoundError, DoctypeRuleError,
  type AnchorEvent, type AnchorRequest, type AnchorService, type Block, type BlockGetter, type DIDSigner, type DocState, type DoctypeFactory
} from '@kiln/interface'
import { base36 } from 'multiformats/bases/base36'
import type { CID } from 'multiformats/cid'

// Builders the suites and the plugins' own tests share: anchor requests and a minimal doctype.

let documents = 0
const run = Math.random().toString(36).slice(2)

/** A DocID string as Ceramic writes it: base36 of varint(0xce) ‖ varint(0) ‖ the genesis CID (a tile). */
export function tileDocIdOf (genesis: CID): string {
  return base36.encode(Uint8Array.from([0xce, 0x01, 0x00, ...genesis.bytes]))
}

/** A tip of the document `genesis`: an update record labelled `label`. */
export async function tipOf (genesis: CID, label: string): Promise<CID> {
  return (await encodeRecord({ id: genesis, prev: genesis, header: {}, data: [{ op: 'add', path: '/label', value: label }] })).cid
}

/** An anchor request for a new document (an unsigned tile genesis, unique per call) at its first tip. */
export async function anchorRequest (label = `${run}-${documents++}`): Promise<AnchorRequest> {
  const genesis = await encodeRecord({ header: { controllers: ['did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'] }, unique: label })
  return { docId: tileDocIdOf(genesis.cid), genesis: genesis.cid, tip: await tipOf(genesis.cid, 'first') }
}

/** A block getter over `blocks` that reports any other CID as missing (`BlockNotFoundError`). */
export function blockGetterOf (blocks: readonly Block[]): BlockGetter {
  const map = new Map(blocks.map((b) => [b.cid.toString(), b.bytes]))
  return async (cid) => {
    const bytes = map.get(cid.toString())
    if (bytes === undefined) throw new BlockNotFoundError(`no block ${cid.toString()} among the anchor's blocks`)
    return bytes
  }
}

/** Every event a service reports from now on, in order. */
export function recordEvents (service: Pick<AnchorService, 'onEvent'>): AnchorEvent[] {
  const events: AnchorEvent[] = []
  service.onEvent((event) => { events.push(event) })
  return events
}

/** The statuses reported for `tip`, by name (`PENDING`, `PROCESSING`, …). */
export function statusesOf (events: readonly AnchorEvent[], tip: CID): string[] {
  const names = Object.fromEntries(Object.entries(AnchorStatus).map(([name, value]) => [value, name]))
  return events.filter((e) => e.tip.equals(tip)).map((e) => names[e.status]!)
}

/** Code of the `register` test doctype: outside Ceramic's 0–4 and the codes Kiln's doctypes take. */
export const REGISTER_CODE = 4242

interface RegisterGenesis { header: { controllers: string[] }, data: Record<string, unknown> }
interface RegisterUpdate { id: CID, prev: CID, header?: { controllers?: string[] }, data: Record<string, unknown> }

/** A minimal doctype for tests of the code around doctypes: a JSON map replaced whole by each update; `{ reject: true }` is refused. */
export function registerDoctype (): DoctypeFactory<Record<string, unknown>> {
  return () => ({
    name: 'register',
    code: REGISTER_CODE,
    signers: (state, payload) => state === null ? (payload as RegisterGenesis).header.controllers : state.metadata.controllers,
    async apply (state, commit) {
      if (state === null) {
        const genesis = commit.payload as RegisterGenesis
        return { content: genesis.data ?? {}, metadata: { controllers: genesis.header.controllers } }
      }
      const update = commit.payload as RegisterUpdate
      if (update.data.reject === true) throw new DoctypeRuleError('register refuses { reject: true }')
      const controllers = update.header?.controllers ?? state.metadata.controllers
      return { content: update.data, metadata: { ...state.metadata, controllers } }
    }
  })
}

/** A signed genesis of the register doctype. */
export async function registerGenesis (signer: DIDSigner, data: Record<string, unknown>, unique = Math.random().toString(36)): Promise<SignedBlocks> {
  return await signRecord({ header: { controllers: [signer.did], unique }, data }, signer)
}

/** A signed update of `state` (on its tip, or on an explicit `prev`). */
export async function registerUpdate (signer: DIDSigner, state: DocState, data: Record<string, unknown>, prev?: CID, header?: RegisterUpdate['header']): Promise<SignedBlocks> {
  const record: Record<string, unknown> = { id: state.log[0]!.cid, prev: prev ?? state.log[state.log.length - 1]!.cid, data }
  if (header !== undefined) record.header = header
  return await signRecord(record, signer)
}
