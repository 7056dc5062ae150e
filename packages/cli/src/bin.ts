#!/usr/bin/env node
import { run } from './cli.js'

// SIGINT / SIGTERM end commands that run until stopped (daemon, watch) cleanly; a second signal exits at once.
const controller = new AbortController()
const stop = (): void => {
  if (controller.signal.aborted) process.exit(130)
  controller.abort()
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

process.exitCode = await run(process.argv.slice(2), { out: process.stdout, err: process.stderr, env: process.env, signal: controller.signal })
process.off('SIGINT', stop)
process.off('SIGTERM', stop)
