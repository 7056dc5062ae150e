// The load parts a soak runs by default. A part is a factory: `part(init?)` returns `{name, workers, step(ctx)}`,
// optionally with `daemonArgs` (more `kiln daemon` flags it needs), `setup(ctx)` (before the load starts) and
// `teardown(ctx)` (after it ends). The soak runs `workers` loops of `step` per part until each phase ends; see
// docs/soak.md for the context a step gets. A new part (peers, webhooks…) is a module here and a line below.
import { admin } from './admin.mjs'
import { anchors } from './anchors.mjs'
import { reads } from './reads.mjs'
import { watchers } from './watchers.mjs'
import { writes } from './writes.mjs'

export { admin, anchors, reads, watchers, writes }

/** Every part, with its default settings, by name. */
export const PARTS = { writes, reads, watchers, anchors, admin }

/** The parts named (all of them when `names` is empty), each made with its default settings. */
export function defaultParts (names = []) {
  const chosen = names.length === 0 ? Object.keys(PARTS) : names
  return chosen.map((name) => {
    const factory = PARTS[name]
    if (factory === undefined) throw new Error(`no load part named ${JSON.stringify(name)}: the parts are ${Object.keys(PARTS).join(', ')}`)
    return factory()
  })
}
