import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { RATE_CATEGORIES, RATE_LIMIT_DEFAULTS, type RateLimitInit } from '@kiln/http-server'
import { DAEMON_DEFAULTS, checkAnchorConfig, describeStorage, mergeConfig, readConfigFile } from '../config.js'
import { daemonLogger, logFormat, terminalStatus } from '../daemon-log.js'
import { startDaemon } from '../node-assembly.js'
import type { CliIO } from '../output.js'
import { syncProgress } from '../sync-progress.js'
import type { Command } from './command.js'

const options = {
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  storage: { type: 'string' },
  anchor: { type: 'string' },
  'anchor-interval': { type: 'string' },
  'admin-did': { type: 'string', multiple: true },
  'eth-rpc': { type: 'string' },
  'eth-contract': { type: 'string' },
  'eth-confirmations': { type: 'string' },
  cors: { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  durability: { type: 'string' },
  'rate-limit': { type: 'string', multiple: true },
  'rate-limit-loopback': { type: 'boolean' },
  'trust-proxy': { type: 'string' },
  network: { type: 'string' },
  'pubsub-topic': { type: 'string' },
  'p2p-listen': { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  'sync-family': { type: 'string', multiple: true },
  'sync-schema': { type: 'string', multiple: true },
  'sync-controller': { type: 'string', multiple: true },
  'sync-doc': { type: 'string', multiple: true },
  'sync-pinned': { type: 'boolean' },
  backup: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' }
} as const

/** The `--rate-limit` specs, with `--rate-limit-loopback` as one more; undefined when neither is given. */
function rateLimitSpecs (specs: string[] | undefined, loopback: boolean | undefined): string[] | undefined {
  const all = [...(specs ?? []), ...(loopback === true ? ['loopback'] : [])]
  return all.length === 0 ? undefined : all
}

/** One line on the rate limits in force, kinds left unset showing their defaults. */
function describeRateLimit (limits: RateLimitInit | false): string {
  if (limits === false) return 'off'
  const kinds = RATE_CATEGORIES.map((kind) => {
    const rule = limits[kind] ?? RATE_LIMIT_DEFAULTS[kind]
    return rule === false ? `${kind} off` : `${kind} ${rule.perSecond}/s (burst ${rule.burst})`
  })
  return `${kinds.join(', ')} per client; loopback ${limits.loopback === true ? 'limited too' : 'exempt'}`
}

/** A connection string without its password, for the terminal and the log. */
function redactedUrl (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'postgres://…'
  }
}

/** `kiln daemon`: a node with its HTTP API, until SIGINT or SIGTERM. */
export const daemon: Command = {
  summary: 'run a Kiln node: LevelDB or PostgreSQL storage, anchoring, the HTTP API (Ceramic API v0)',
  usage: `kiln daemon [--port 7007] [--host 127.0.0.1] [--data-dir ./.kiln] [--storage level|postgres://…] [--anchor mock|ethereum|ethereum-dev|none|<a,b>]
                   [--anchor-interval 5000] [--eth-rpc <url>] [--eth-contract <address>] [--eth-confirmations 1] [--admin-did <did>]... [--cors <origin>]... [--log-level info]
                   [--durability strict|relaxed] [--rate-limit <kind>=<perSecond>/<burst>|<kind>=off|off]... [--rate-limit-loopback]
                   [--trust-proxy true|<hops>|<address,…>] [--network local-kiln] [--pubsub-topic <topic>]
                   [--p2p-listen <multiaddr>|none]... [--bootstrap <multiaddr>]... [--sync-family <family>]...
                   [--sync-schema <commitId>]... [--sync-controller <did>]... [--sync-doc <docId>]... [--sync-pinned] [--backup postgres://…] [--config <file.json>] [--json]

  Flags win over the config file, which wins over the defaults. The config file is JSON with the keys
  port, host, dataDir, storage, anchor, anchorIntervalMs, adminDids, corsOrigins, cacheSize, logLevel, bodyLimit, importBodyLimit,
  headersTimeoutMs, requestTimeoutMs, rateLimit, trustProxy, durability, network, pubsubTopic, p2pListen, bootstrap,
  syncFamilies, syncSchemas, syncControllers, syncDocs, syncPinned, backup.
  --backup mirrors every block, log entry and state the node writes to the PostgreSQL warehouse at that URL, in the
  background (a warehouse that is down never slows a write; it is caught up when it returns, and after a restart);
  docs/warehouse.md has its schema and example queries.
  --p2p-listen sets where the node listens on the libp2p network (by default /ip4/0.0.0.0/tcp/4011 and
  /ip4/0.0.0.0/tcp/4012/ws); none keeps it off any network. --network names the network (the pubsub topic /ceramic/<name>); --bootstrap peers are
  dialled at start and redialled with backoff. The peer key lives in the data directory (peer.key). Catch-up sync
  reconciles with every peer at connection and every 30 s; --sync-family limits it to those families; --sync-schema,
  --sync-controller, --sync-doc and --sync-pinned to the documents of those genesis schemas, of those genesis first
  controllers, those DocIDs or the pinned documents (any of them; docs/sync.md, Interests).
  --rate-limit sets a per-client rate of the HTTP API for one kind of request (write, read, adminAuth, eventStreams),
  e.g. --rate-limit write=5/20 (5 a second, bursts of 20); "off" turns them all off. Clients on loopback are exempt
  unless --rate-limit-loopback. --trust-proxy says whose X-Forwarded-For names the client: a reverse proxy's address
  (127.0.0.1), a hop count, or true (every hop: clients can then claim any address); none by default.
  Logs go to standard error: readable lines on a terminal, JSON lines (pino) with --json or when the output is not a
  terminal. Each HTTP request is logged at debug level, each finished catch-up sync at info; on a terminal, a sync
  fetching 1,000 commits or more shows a progress line under the logs while it runs. The address the node listens on
  goes to standard output.
  --storage level (the default) keeps documents in LevelDB under the data directory; a PostgreSQL connection string
  (postgres://user[:password]@host:5432/database, also from KILN_DATABASE_URL, which is better for a password) keeps
  them in that database, whose tables are created or migrated at start. The node's keys stay in the data directory.
  While the database is unreachable writes are refused (503, StorageError) and the healthcheck answers 503; both work
  again once it is back, without a restart.
  --durability strict (the default) acknowledges a write once it is fsync'd (concurrent writes share one fsync);
  relaxed acknowledges it once the OS has it, so a power loss (not a crash of the process) may lose the last writes.
  --anchor ethereum anchors on the EVM chain at --eth-rpc, paying from the account whose key is in KILN_ETH_KEY;
  --anchor ethereum-dev starts a local ganache chain inside the daemon (a real EVM on 127.0.0.1) and anchors there.
  Several chains, comma-separated (--anchor mock,ethereum-dev): the first anchors writes unless a write names another
  (opts.anchorChain, kiln create --anchor-chain); all of them verify anchors of their chains.`,
  async run (args: string[], io: CliIO): Promise<number> {
    const { values } = parseArgs({ args, options, strict: true, allowPositionals: false })
    let config = DAEMON_DEFAULTS
    if (values.config !== undefined) config = mergeConfig(config, readConfigFile(values.config), `config file ${values.config}:`)
    config = mergeConfig(config, {
      port: values.port,
      host: values.host,
      dataDir: values['data-dir'],
      storage: values.storage ?? io.env.KILN_DATABASE_URL,
      anchor: values.anchor,
      anchorIntervalMs: values['anchor-interval'],
      adminDids: values['admin-did'],
      corsOrigins: values.cors,
      logLevel: values['log-level'],
      ethRpc: values['eth-rpc'],
      ethContract: values['eth-contract'],
      ethConfirmations: values['eth-confirmations'],
      durability: values.durability,
      rateLimit: rateLimitSpecs(values['rate-limit'], values['rate-limit-loopback']),
      trustProxy: values['trust-proxy'],
      network: values.network,
      pubsubTopic: values['pubsub-topic'],
      p2pListen: values['p2p-listen'],
      bootstrap: values.bootstrap,
      syncFamilies: values['sync-family'],
      syncSchemas: values['sync-schema'],
      syncControllers: values['sync-controller'],
      syncDocs: values['sync-doc'],
      syncPinned: values['sync-pinned'],
      backup: values.backup,
      ethPrivateKey: io.env.KILN_ETH_KEY
    }, 'option')
    checkAnchorConfig(config)
    const format = logFormat({ json: values.json === true, isTTY: io.out.isTTY === true && io.err.isTTY === true })
    // On a terminal, log lines share standard error with the progress line of a long catch-up sync.
    const terminal = format === 'pretty' ? terminalStatus(io.err) : undefined
    const logger = daemonLogger(
      { level: config.logLevel, format, color: io.env.NO_COLOR === undefined },
      terminal ?? pino.destination({ fd: 2, sync: true })
    )
    const running = await startDaemon(config, logger)
    const progress = terminal === undefined || running.network === undefined
      ? undefined
      : syncProgress({ peers: () => running.node.nodeInfo?.().network?.peers, line: terminal })
    const info = {
      url: running.api.url,
      did: running.did.did,
      dataDir: running.dataDir,
      storage: describeStorage(config.storage),
      chains: [...running.node.chains],
      mockChainDid: running.mockChainDid,
      ethRpc: running.devChainRpc,
      anchorIntervalMs: config.anchor.length > 0 ? config.anchorIntervalMs : undefined,
      ...(running.network === undefined ? {} : { peerId: running.network.peerId, addresses: running.network.addresses, topic: running.network.topic })
    }
    if (values.json === true) {
      io.out.write(`${JSON.stringify({ event: 'listening', ...info })}\n`)
    } else {
      io.out.write(`kiln listening on ${info.url}\n`)
      io.out.write(`  node DID   ${info.did}\n  data       ${info.dataDir}\n  storage    ${info.storage}\n`)
      io.out.write(`  durability ${config.durability === 'strict' ? 'strict (every acknowledged write is fsync\'d)' : 'relaxed (writes are not fsync\'d: a power loss may lose the last ones)'}\n`)
      io.out.write(`  rate limit ${describeRateLimit(config.rateLimit)}\n`)
      io.out.write(`  anchoring  ${info.chains.length === 0 ? 'off' : `${info.chains.join(', ')} every ${config.anchorIntervalMs} ms`}\n`)
      if (info.ethRpc !== undefined) io.out.write(`  eth rpc    ${info.ethRpc}  (a ganache chain inside this daemon; kiln verify --eth-rpc …)\n`)
      if (info.mockChainDid !== undefined) io.out.write(`  chain key  ${info.mockChainDid}  (kiln verify --mock-chain-did …)\n`)
      if (config.backup !== undefined) io.out.write(`  backup     mirrored to ${redactedUrl(config.backup)}\n`)
      if (running.network === undefined) io.out.write('  network    off (--p2p-listen <multiaddr> puts this node on one)\n')
      else io.out.write(`  network    ${running.network.topic}\n  peer id    ${running.network.peerId}\n${running.network.addresses.map((a) => `  p2p        ${a}\n`).join('')}`)
    }
    logger.info({ ...info, durability: config.durability }, 'kiln daemon started')
    progress?.start()
    await new Promise<void>((resolve) => {
      if (io.signal === undefined || io.signal.aborted) { resolve(); return }
      io.signal.addEventListener('abort', () => { resolve() }, { once: true })
    })
    progress?.stop()
    logger.info('stopping: closing the HTTP API, then flushing storage')
    await running.stop()
    io.out.write(values.json === true ? `${JSON.stringify({ event: 'stopped' })}\n` : 'kiln stopped\n')
    logger.flush()
    return 0
  }
}
