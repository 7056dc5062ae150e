import { networks, type Network } from 'bitcoinjs-lib'
import { InvalidBitcoinAnchorOptionError } from './errors.js'

/** The CAIP-2 namespace of Bitcoin chains. */
export const BITCOIN_NAMESPACE = 'bip122'

/** The Bitcoin networks Kiln anchors to. */
export type BitcoinNetworkName = 'regtest' | 'testnet' | 'bitcoin'

/** What Kiln needs to know about one Bitcoin network. */
export interface BitcoinNetwork {
  name: BitcoinNetworkName
  /** `bip122:` and the first 32 hex characters of the genesis block hash. */
  chainId: string
  /** The easiest target a header of this network may claim, in compact form (Bitcoin Core's `powLimit`). */
  powLimitBits: number
  /** bitcoinjs-lib's parameters: address prefixes, WIF version. */
  params: Network
}

/** The networks by name: chain ids from the genesis block hashes, proof-of-work limits from Bitcoin Core's chainparams. */
export const BITCOIN_NETWORKS: Readonly<Record<BitcoinNetworkName, BitcoinNetwork>> = Object.freeze({
  regtest: { name: 'regtest', chainId: 'bip122:0f9188f13cb7b2c71f2a335e3a4fc328', powLimitBits: 0x207fffff, params: networks.regtest },
  testnet: { name: 'testnet', chainId: 'bip122:000000000933ea01ad0ee984209779ba', powLimitBits: 0x1d00ffff, params: networks.testnet },
  bitcoin: { name: 'bitcoin', chainId: 'bip122:000000000019d6689c085ae165831e93', powLimitBits: 0x1d00ffff, params: networks.bitcoin }
})

/** The network called `name`; throws `InvalidBitcoinAnchorOptionError` for a name Kiln does not know. */
export function bitcoinNetwork (name: unknown): BitcoinNetwork {
  if (typeof name === 'string' && Object.hasOwn(BITCOIN_NETWORKS, name)) return BITCOIN_NETWORKS[name as BitcoinNetworkName]
  throw new InvalidBitcoinAnchorOptionError(`network must be one of ${Object.keys(BITCOIN_NETWORKS).join(', ')}; got ${JSON.stringify(name)}`, {
    details: { network: String(name) }
  })
}
