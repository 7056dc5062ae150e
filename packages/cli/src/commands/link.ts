import { parseArgs } from 'node:util'
import { accountLinkGenesis, ethereumLinkProof, makeLinkUpdate, parseAccountId } from '@kiln/doctype-account-link'
import { AnchorStatus, isKilnError } from '@kiln/interface'
import type { Wallet } from 'ethers'
import { UsageError } from '../errors.js'
import { printJSON, withProgress, type CliIO } from '../output.js'
import { clientOf, clientOptions, signerOf } from './client-options.js'
import type { Command } from './command.js'

/** The wallet of the account to link; ethers is loaded here, so that no other command loads it. */
async function ethereumWallet (values: { 'eth-key'?: string }, io: CliIO): Promise<Wallet> {
  const key = values['eth-key'] ?? io.env.KILN_ETH_KEY
  if (key === undefined || key === '') throw new UsageError('linking an Ethereum account signs with its key: pass --eth-key <hex> or set KILN_ETH_KEY')
  const { Wallet } = await import('ethers')
  try {
    return new Wallet(key.startsWith('0x') ? key : `0x${key}`)
  } catch {
    throw new UsageError('--eth-key is not a 32-byte hex private key')
  }
}

/** `kiln link`: links blockchain accounts to DIDs (Ceramic's caip10-link documents). */
export const link: Command = {
  summary: 'link an Ethereum account to your DID (signed by the account key), unlink it, or show a link',
  usage: `kiln link eth [--eth-key <hex>] [--chain 1] [--did <did> | --seed <hex>] [--unlink] [--wait-anchor] [--url …] [--json]
       kiln link show <caip10 account, e.g. eip155:1:0xab…> [--url …] [--json]

  The account's key signs Ceramic's link message naming the DID and the time (EIP-191 personal_sign); the node
  checks the signature recovers the account's address. The key may also come from KILN_ETH_KEY; the DID defaults
  to the did:key of --seed / KILN_SEED. Bitcoin accounts are linked from code (@kiln/doctype-account-link).`,
  async run (args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...clientOptions, 'eth-key': { type: 'string' }, chain: { type: 'string' }, did: { type: 'string' }, unlink: { type: 'boolean' }, 'wait-anchor': { type: 'boolean' } },
      allowPositionals: true,
      strict: true
    })
    const client = clientOf(values, io)
    const [action, accountText, extra] = positionals
    if (action === 'show' && accountText !== undefined && extra === undefined) {
      const { docId, account } = await accountLinkGenesis(parseAccountId(accountText))
      const { state } = await withProgress(io, 'loading', async () => await client.load(docId))
      if (values.json === true) printJSON(io, { streamId: docId.toString(), account: account.caip10, did: state.content })
      else io.out.write(`${account.caip10} → ${state.content === null ? '(not linked)' : String(state.content)}\n  link document ${docId.toString()}\n`)
      return 0
    }
    if (action !== 'eth' || accountText !== undefined) throw new UsageError('usage: kiln link eth [--eth-key <hex>] … | kiln link show <account>')
    const wallet = await ethereumWallet(values, io)
    const chain = values.chain ?? '1'
    if (!/^[0-9]{1,32}$/.test(chain)) throw new UsageError(`--chain must be an EIP-155 chain id (a number), got ${chain}`)
    const account = `eip155:${chain}:${wallet.address}`
    const did = values.unlink === true ? null : values.did ?? signerOf(values, io).did
    const genesis = await accountLinkGenesis(account)
    const created = await withProgress(io, 'creating the link document', async () => await client.createDocument('caip10-link', genesis.record))
    const link = async (): ReturnType<typeof client.applyOnTip> => {
      const proof = await ethereumLinkProof({ account, did, sign: async (message) => await wallet.signMessage(message) })
      return await client.applyOnTip(created.id, async (tip) => (await makeLinkUpdate(tip, proof)).record, { state: created.state })
    }
    const linked = await withProgress(io, did === null ? 'unlinking' : 'linking', async () => {
      // A proof is dated when it is signed: an anchor of the link document landing between the signature and the
      // write makes it older than the anchor, and the node refuses it. Sign a fresh one then, up to three times.
      for (let attempt = 1; ; attempt++) {
        try {
          return await link()
        } catch (err) {
          if (attempt >= 3 || !isStaleProof(err)) throw err
        }
      }
    })
    let state = linked.state
    if (values['wait-anchor'] === true) {
      state = await withProgress(io, 'waiting for the anchor', async () => {
        for await (const snapshot of client.watch(created.id, io.signal === undefined ? {} : { signal: io.signal })) {
          if (snapshot.state.anchorStatus === AnchorStatus.ANCHORED || snapshot.state.anchorStatus === AnchorStatus.FAILED) return snapshot.state
        }
        return (await client.load(created.id)).state
      })
    }
    if (values.json === true) printJSON(io, { streamId: created.id.toString(), account: genesis.account.caip10, did: state.content })
    else io.out.write(`${genesis.account.caip10} → ${state.content === null ? '(unlinked)' : String(state.content)}\n  link document ${created.id.toString()}\n`)
    return 0
  }
}

/** The node's refusal of a link proof signed before the document's latest anchor (one signed again passes). */
function isStaleProof (err: unknown): boolean {
  if (!isKilnError(err, 'DoctypeRuleError')) return false
  const { timestamp, anchor } = err.details as { timestamp?: unknown, anchor?: unknown }
  return typeof timestamp === 'number' && typeof anchor === 'number' && timestamp < anchor
}
