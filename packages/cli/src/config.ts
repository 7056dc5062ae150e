import { readFileSync } from 'node:fs'
import { DocID } from '@kiln/docid'
import { multiaddr } from '@multiformats/multiaddr'
import { RATE_CATEGORIES, type RateCategory, type RateLimitInit, type RateRule } from '@kiln/http-server'
import { ConfigError } from './errors.js'

/** A chain the daemon can anchor on. */
export type AnchorChoice = 'mock' | 'ethereum' | 'ethereum-dev'

const ANCHOR_CHOICES: readonly string[] = ['mock', 'ethereum', 'ethereum-dev']

/** When the node acknowledges a write: once it is fsync'd (`strict`), or once the OS has it (`relaxed`). */
export type Durability = 'strict' | 'relaxed'

const DURABILITIES: readonly string[] = ['strict', 'relaxed']

/** Whose `X-Forwarded-For` the HTTP API believes: `httpApi`'s `trustProxy`. */
export type TrustProxy = boolean | number | string[]

/** Everything `kiln daemon` can be told, by flag or config file. */
export interface DaemonConfig {
  port: number
  host: string
  /** Where the node keeps its keys, and its LevelDB store when `storage` is `level`. */
  dataDir: string
  /**
   * Where documents are stored: `level` (LevelDB under the data directory, the default) or a PostgreSQL connection
   * string (`postgres://user@host:5432/database`; `--storage`, `KILN_DATABASE_URL`).
   */
  storage: string
  /**
   * `mock`: the in-process chain; `ethereum`: an EVM chain at `ethRpc`; `ethereum-dev`: a ganache chain started inside
   * the daemon; `none`: no anchoring.
   */
  anchor: AnchorChoice[]
  /** JSON-RPC URL of the EVM chain (`--anchor ethereum`). */
  ethRpc?: string
  /** The anchoring account's private key (`--anchor ethereum`); better given as KILN_ETH_KEY than on a command line. */
  ethPrivateKey?: string
  /** A deployed KilnAnchor contract; without it roots go as raw transactions. */
  ethContract?: string
  /** Blocks an anchor waits for (its own included). */
  ethConfirmations: number
  anchorIntervalMs: number
  /** DIDs allowed to call the admin routes (pins). */
  adminDids: string[]
  /** Origins allowed by CORS; none by default. */
  corsOrigins: string[]
  cacheSize: number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Request body limit in bytes (every route but the CAR import). */
  bodyLimit: number
  /** Body limit of the CAR import route, in bytes. */
  importBodyLimit: number
  /** Time for a request's headers to arrive, in ms. */
  headersTimeoutMs: number
  /** Time for a whole request to arrive, in ms (0: none). */
  requestTimeoutMs: number
  /**
   * Per-client rate limits of the HTTP API: `httpApi`'s `rateLimit` (kinds left out keep their defaults; loopback
   * clients are exempt unless `loopback`), or `false` for none.
   */
  rateLimit: RateLimitInit | false
  /** Whose `X-Forwarded-For` to believe for the client's address: none by default. */
  trustProxy: TrustProxy
  /**
   * `strict`: every acknowledged write is fsync'd (concurrent writes share one fsync); `relaxed`: written to the OS but
   * not synced, so a power loss (not a process crash) may lose the last acknowledged writes.
   */
  durability: Durability
  /** The network's name: the pubsub topic is `/ceramic/<network>`. */
  network: string
  /** The pubsub topic, overriding the network's. */
  pubsubTopic?: string
  /** libp2p listen multiaddrs; empty: the node is not on a network (`--p2p-listen none`). */
  p2pListen: string[]
  /** Peers dialled at start and redialled with backoff (`--bootstrap`). */
  bootstrap: string[]
  /** The families catch-up sync fetches and serves (`--sync-family`); every document on the network when left out. */
  syncFamilies?: string[]
  /** Only the documents of these genesis schemas, CommitID strings as in the headers (`--sync-schema`). */
  syncSchemas?: string[]
  /** Only the documents whose genesis first controller is one of these DIDs (`--sync-controller`). */
  syncControllers?: string[]
  /** Only these documents, by DocID (`--sync-doc`). */
  syncDocs?: string[]
  /** Only the documents the node has pinned (`--sync-pinned`); with the lists above, any document one of them names. */
  syncPinned?: boolean
  /** A PostgreSQL warehouse every block, log entry and state is mirrored to (`--backup postgres://…`; docs/warehouse.md). */
  backup?: string
}

/** The embedded defaults `npm start` runs with. */
export const DAEMON_DEFAULTS: Readonly<DaemonConfig> = Object.freeze({
  port: 7007,
  host: '127.0.0.1',
  dataDir: './.kiln',
  storage: 'level',
  anchor: ['mock'] as AnchorChoice[],
  anchorIntervalMs: 5000,
  ethConfirmations: 1,
  adminDids: [],
  corsOrigins: [],
  cacheSize: 1000,
  logLevel: 'info',
  bodyLimit: 1024 * 1024,
  importBodyLimit: 16 * 1024 * 1024,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 120_000,
  rateLimit: {},
  trustProxy: false,
  durability: 'strict',
  network: 'local-kiln',
  // A p2p daemon listens on every interface, as IPFS nodes do: TCP 4011 and WebSockets 4012 (docs/network.md).
  p2pListen: ['/ip4/0.0.0.0/tcp/4011', '/ip4/0.0.0.0/tcp/4012/ws'],
  bootstrap: []
})

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function integer (value: unknown, name: string, min: number, max: number): number {
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`, { details: { field: name } })
  }
  return n
}

function stringList (value: unknown, name: string): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'string' && v.length > 0)) {
    throw new ConfigError(`${name} must be a list of strings`, { details: { field: name } })
  }
  return list
}

/** A list of catch-up sync interests: strings of at most 256 UTF-8 bytes, as the sync hello carries them. */
function interestList (value: unknown, name: string): string[] {
  const list = stringList(value, name)
  const long = list.find((entry) => Buffer.byteLength(entry) > 256)
  if (long !== undefined) throw new ConfigError(`${name}: ${JSON.stringify(long.slice(0, 40))}… is longer than 256 bytes`, { details: { field: name } })
  return list
}

/** A DocID string in its canonical form: checked here so that a typo is a clear error at start. */
function docIdOf (value: string, name: string): string {
  try {
    return DocID.fromString(value).toString()
  } catch (err) {
    throw new ConfigError(`${name}: ${JSON.stringify(value)} is not a DocID`, { cause: err, details: { field: name, value } })
  }
}

/** A `{perSecond, burst}` rate for the kind `name`: a positive rate and a burst of at least one request. */
function rateRule (value: unknown, name: string): RateRule | false {
  if (value === false || value === 'off') return false
  const rule = value as Partial<RateRule> | null
  if (rule === null || typeof rule !== 'object' || typeof rule.perSecond !== 'number' || typeof rule.burst !== 'number' ||
    !Number.isFinite(rule.perSecond) || rule.perSecond <= 0 || !Number.isFinite(rule.burst) || rule.burst < 1 || Object.keys(rule).length !== 2) {
    throw new ConfigError(`${name} must be {"perSecond": n > 0, "burst": n >= 1} or false, got ${JSON.stringify(value)}`, { details: { field: name } })
  }
  return { perSecond: rule.perSecond, burst: rule.burst }
}

/**
 * The rate limits after one setting: a config file's object (or `false`), or the `--rate-limit` flags' specs:
 * `off`, `loopback` (limit loopback clients too), `<kind>=<perSecond>/<burst>`, `<kind>=off`.
 */
function rateLimitOf (base: RateLimitInit | false, value: unknown, source: string): RateLimitInit | false {
  const name = `${source} rateLimit`
  if (value === false) return false
  if (Array.isArray(value) || typeof value === 'string') {
    let limits: RateLimitInit | false = base === false ? {} : { ...base }
    for (const spec of typeof value === 'string' ? [value] : value as unknown[]) {
      if (spec === 'off') { limits = false; continue }
      if (limits === false) limits = {}
      if (spec === 'loopback') { limits.loopback = true; continue }
      const match = typeof spec === 'string' ? /^(\w+)=(?:off|([\d.]+)\/([\d.]+))$/.exec(spec) : null
      const kind = match?.[1] as RateCategory | undefined
      if (match === null || kind === undefined || !RATE_CATEGORIES.includes(kind)) {
        throw new ConfigError(`${name} must be "off", "loopback" or <kind>=<perSecond>/<burst> (or <kind>=off) with a kind among ${RATE_CATEGORIES.join(', ')}, got ${JSON.stringify(spec)}`, { details: { field: 'rateLimit', value: spec } })
      }
      limits[kind] = match[2] === undefined ? false : rateRule({ perSecond: Number(match[2]), burst: Number(match[3]) }, `${name} ${kind}`)
    }
    return limits
  }
  if (value === null || typeof value !== 'object') {
    throw new ConfigError(`${name} must be an object of rates, or false, got ${JSON.stringify(value)}`, { details: { field: 'rateLimit' } })
  }
  const limits: RateLimitInit = {}
  for (const [key, setting] of Object.entries(value)) {
    if (RATE_CATEGORIES.includes(key as RateCategory)) limits[key as RateCategory] = rateRule(setting, `${name}.${key}`)
    else if (key === 'loopback' && typeof setting === 'boolean') limits.loopback = setting
    else if (key === 'maxClients') limits.maxClients = integer(setting, `${name}.maxClients`, 1, 10_000_000)
    else throw new ConfigError(`${name} has an unknown or mistyped setting "${key}"`, { details: { field: `rateLimit.${key}` } })
  }
  return limits
}

/** `trustProxy` from a flag (`true`, `false`, a hop count, or comma-separated addresses) or a config file. */
function trustProxyOf (value: unknown, source: string): TrustProxy {
  const name = `${source} trustProxy`
  if (typeof value === 'boolean') return value
  if (typeof value === 'number') return integer(value, name, 0, 100)
  if (typeof value === 'string') {
    if (value === 'true' || value === 'false') return value === 'true'
    if (/^\d+$/.test(value)) return integer(value, name, 0, 100)
    value = value.split(',').map((address) => address.trim()).filter((address) => address !== '')
  }
  const list = stringList(value, name)
  if (list.length === 0) throw new ConfigError(`${name} must be true, false, a hop count, or proxy addresses`, { details: { field: 'trustProxy' } })
  return list
}

/** A multiaddr as the network takes it: checked here so that a typo is a clear error at start, not a silent skip. */
function multiaddrOf (value: string, name: string): string {
  try {
    return multiaddr(value).toString()
  } catch (err) {
    throw new ConfigError(`${name}: ${JSON.stringify(value)} is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/4011)`, { cause: err, details: { field: name, value } })
  }
}

/** `level`, or a PostgreSQL URL checked here so that a typo is a clear error at start. */
function storageOf (value: unknown, source: string): string {
  const usage = `${source} storage must be "level" or a PostgreSQL connection string (postgres://user@host:5432/database)`
  if (value === 'level') return value
  if (typeof value !== 'string') throw new ConfigError(usage, { details: { field: 'storage' } })
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${usage}, got a string that is not a URL`, { details: { field: 'storage' } })
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`${usage}, got a ${url.protocol} URL`, { details: { field: 'storage' } })
  }
  return value
}

/** A storage setting for logs and output: `level`, or the PostgreSQL URL with its password hidden. */
export function describeStorage (storage: string): string {
  if (storage === 'level') return storage
  const url = new URL(storage)
  if (url.password !== '') url.password = '***'
  return url.toString()
}

/** Checks and completes a partial configuration (from a file or flags) over `base`. */
export function mergeConfig (base: DaemonConfig, partial: Record<string, unknown>, source: string): DaemonConfig {
  const config: DaemonConfig = { ...base }
  for (const [key, value] of Object.entries(partial)) {
    if (value === undefined) continue
    switch (key) {
      case 'port': config.port = integer(value, `${source} port`, 0, 65535); break
      case 'host': if (typeof value !== 'string' || value === '') throw new ConfigError(`${source} host must be a host name or address`); config.host = value; break
      case 'dataDir': if (typeof value !== 'string' || value === '') throw new ConfigError(`${source} dataDir must be a path`); config.dataDir = value; break
      case 'storage': config.storage = storageOf(value, source); break
      case 'anchor': {
        // One chain or several ("mock,ethereum-dev" or a list): the first anchors by default, all verify.
        const list = typeof value === 'string' ? value.split(',').map((v) => v.trim()) : value
        if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${source} anchor must be a chain name or a list of them`)
        if (list.length === 1 && list[0] === 'none') { config.anchor = []; break }
        for (const choice of list) {
          if (typeof choice !== 'string' || !ANCHOR_CHOICES.includes(choice)) {
            throw new ConfigError(`${source} anchor must be "mock", "ethereum", "ethereum-dev" (or several, comma-separated) or "none", got ${JSON.stringify(choice)}`)
          }
        }
        if (new Set(list).size !== list.length || (list.includes('ethereum') && list.includes('ethereum-dev'))) {
          throw new ConfigError(`${source} anchor names a chain twice: ${list.join(',')}`)
        }
        config.anchor = list as AnchorChoice[]
        break
      }
      case 'ethRpc': case 'ethPrivateKey': case 'ethContract':
        if (typeof value !== 'string' || value === '') throw new ConfigError(`${source} ${key} must be a string`)
        config[key] = value
        break
      case 'ethConfirmations': config.ethConfirmations = integer(value, `${source} ethConfirmations`, 1, 1000); break
      case 'anchorIntervalMs': config.anchorIntervalMs = integer(value, `${source} anchorIntervalMs`, 10, 86_400_000); break
      case 'adminDids': config.adminDids = stringList(value, `${source} adminDids`); break
      case 'corsOrigins': config.corsOrigins = stringList(value, `${source} corsOrigins`); break
      case 'cacheSize': config.cacheSize = integer(value, `${source} cacheSize`, 1, 10_000_000); break
      case 'bodyLimit': config.bodyLimit = integer(value, `${source} bodyLimit`, 1024, 1024 * 1024 * 1024); break
      case 'importBodyLimit': config.importBodyLimit = integer(value, `${source} importBodyLimit`, 1024, 1024 * 1024 * 1024); break
      case 'headersTimeoutMs': config.headersTimeoutMs = integer(value, `${source} headersTimeoutMs`, 100, 3_600_000); break
      case 'requestTimeoutMs': config.requestTimeoutMs = integer(value, `${source} requestTimeoutMs`, 0, 86_400_000); break
      case 'rateLimit': config.rateLimit = rateLimitOf(config.rateLimit, value, source); break
      case 'trustProxy': config.trustProxy = trustProxyOf(value, source); break
      case 'network':
        if (typeof value !== 'string' || !/^[\w.-]{1,64}$/.test(value)) throw new ConfigError(`${source} network must be a name of letters, digits, '.', '_' or '-', got ${JSON.stringify(value)}`, { details: { field: 'network' } })
        config.network = value
        break
      case 'pubsubTopic':
        if (typeof value !== 'string' || value === '') throw new ConfigError(`${source} pubsubTopic must be a topic name`, { details: { field: 'pubsubTopic' } })
        config.pubsubTopic = value
        break
      case 'p2pListen': {
        const list = stringList(value, `${source} p2pListen`)
        config.p2pListen = list.length === 1 && list[0] === 'none' ? [] : list.map((address) => multiaddrOf(address, `${source} p2pListen`))
        break
      }
      case 'syncFamilies': config.syncFamilies = stringList(value, `${source} syncFamilies`); break
      case 'syncSchemas': case 'syncControllers': config[key] = interestList(value, `${source} ${key}`); break
      case 'syncDocs': config.syncDocs = interestList(value, `${source} syncDocs`).map((doc) => docIdOf(doc, `${source} syncDocs`)); break
      case 'syncPinned':
        if (typeof value !== 'boolean') throw new ConfigError(`${source} syncPinned must be true or false`, { details: { field: 'syncPinned' } })
        config.syncPinned = value
        break
      case 'backup':
        if (typeof value !== 'string' || !/^postgres(ql)?:\/\/./.test(value)) {
          throw new ConfigError(`${source} backup must be a postgres:// connection string of the warehouse`, { details: { field: 'backup' } })
        }
        config.backup = value
        break
      case 'bootstrap': config.bootstrap = stringList(value, `${source} bootstrap`).map((address) => multiaddrOf(address, `${source} bootstrap`)); break
      case 'logLevel':
        if (typeof value !== 'string' || !LOG_LEVELS.includes(value)) throw new ConfigError(`${source} logLevel must be one of ${LOG_LEVELS.join(', ')}`)
        config.logLevel = value as DaemonConfig['logLevel']
        break
      case 'durability':
        if (typeof value !== 'string' || !DURABILITIES.includes(value)) {
          throw new ConfigError(`${source} durability must be "strict" (fsync every acknowledged write) or "relaxed" (no fsync), got ${JSON.stringify(value)}`, { details: { field: 'durability', value } })
        }
        config.durability = value as Durability
        break
      default:
        throw new ConfigError(`${source} has an unknown setting "${key}"`, { details: { field: key } })
    }
  }
  return config
}

/** Checks that the settings an anchor choice needs are there. */
export function checkAnchorConfig (config: DaemonConfig): void {
  if (config.anchor.includes('ethereum')) {
    if (config.ethRpc === undefined) throw new ConfigError('--anchor ethereum needs --eth-rpc <url> (the JSON-RPC endpoint of the chain)')
    if (config.ethPrivateKey === undefined) throw new ConfigError('--anchor ethereum needs the anchoring account key: set KILN_ETH_KEY (or ethPrivateKey in the config file)')
  }
}

/** Reads a JSON config file (the same keys as {@link DaemonConfig}). */
export function readConfigFile (path: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`Cannot read the config file ${path}: ${(err as Error).message}`, { cause: err })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`The config file ${path} is not JSON: ${(err as Error).message}`, { cause: err })
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`The config file ${path} must hold a JSON object`)
  return value as Record<string, unknown>
}
