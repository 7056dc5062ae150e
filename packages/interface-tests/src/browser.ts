/**
 * Finds and launches a Chromium for real-browser tests: Debian's `chromium` (or `KILN_CHROMIUM`), driven by
 * `playwright-core`. No browser is ever downloaded: where none is installed, `chromiumPath()` is undefined and the
 * test file skips with a message saying so.
 */
import { existsSync } from 'node:fs'
import type { Browser } from 'playwright-core'

/** Where Chromium is looked for when `KILN_CHROMIUM` is not set: Debian's package, then other common installs. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable']

/** The Chromium executable to test with: `KILN_CHROMIUM` when it names an existing file, else the first installed candidate. */
export function chromiumPath (): string | undefined {
  const fromEnv = process.env.KILN_CHROMIUM
  if (fromEnv !== undefined && fromEnv !== '') return existsSync(fromEnv) ? fromEnv : undefined
  return CANDIDATES.find((path) => existsSync(path))
}

/** Why browser tests cannot run here, or undefined when a Chromium was found. */
export function noChromiumReason (): string | undefined {
  if (chromiumPath() !== undefined) return undefined
  const fromEnv = process.env.KILN_CHROMIUM
  return fromEnv !== undefined && fromEnv !== ''
    ? `KILN_CHROMIUM=${fromEnv} does not exist`
    : `no Chromium found (looked for ${CANDIDATES.join(', ')}; install Debian's chromium or set KILN_CHROMIUM)`
}

/** Launches the found Chromium headless (without its sandbox when running as root, which it refuses otherwise). */
export async function launchChromium (): Promise<Browser> {
  const executablePath = chromiumPath()
  if (executablePath === undefined) throw new TypeError(`Cannot launch Chromium: ${noChromiumReason() ?? 'not found'}`)
  const { chromium } = await import('playwright-core')
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  return await chromium.launch({ executablePath, headless: true, args: root ? ['--no-sandbox'] : [] })
}
