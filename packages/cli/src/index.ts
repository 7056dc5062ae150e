/**
 * The `kiln` command line: the daemon and the client commands. The only part of Kiln that reads environment variables
 * or config files and picks concrete plugins.
 * @packageDocumentation
 */
export { run, type CliIO } from './cli.js'
export { buildInfo, type PackageVersion } from './build-info.js'
export { DAEMON_DEFAULTS, mergeConfig, readConfigFile, checkAnchorConfig, describeStorage, type DaemonConfig, type AnchorChoice, type Durability, type TrustProxy } from './config.js'
export { logFormat, daemonLogger, formatLogLine, isRequestLog, prettyDestination, terminalStatus, type LogFormat, type LogDestination, type DaemonLoggerOptions, type TerminalStream } from './daemon-log.js'
export { syncProgress, catchUpText, finishedSyncText, shortPeerId, durationText, LONG_SYNC_COMMITS, PROGRESS_REDRAW_MS, type SyncProgress, type SyncProgressInit, type StatusLine, type ProgressTimers, type PeerSync } from './sync-progress.js'
export { startDaemon, type Daemon } from './node-assembly.js'
export { UsageError, ConfigError } from './errors.js'
