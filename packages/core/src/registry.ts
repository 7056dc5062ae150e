import { DuplicateRegistrationError, UnknownDoctypeError, type DoctypeHandler, type DoctypeRegistry } from '@kiln/interface'

export type { DoctypeRegistry } from '@kiln/interface'

/**
 * Builds the registry from handlers. A second handler with a taken code or name is a `DuplicateRegistrationError`.
 * The registry is the node's own: nothing process-wide (such as `@kiln/docid`'s table of names) is changed.
 */
export function createDoctypeRegistry (handlers: readonly DoctypeHandler[]): DoctypeRegistry {
  const byCode = new Map<number, DoctypeHandler>()
  const byName = new Map<string, DoctypeHandler>()
  for (const handler of handlers) {
    const taken = byCode.get(handler.code) ?? byName.get(handler.name)
    if (taken !== undefined) {
      throw new DuplicateRegistrationError(`Doctype ${handler.name} (code ${handler.code}) clashes with ${taken.name} (code ${taken.code})`, {
        details: { code: handler.code, name: handler.name }
      })
    }
    byCode.set(handler.code, handler)
    byName.set(handler.name, handler)
  }
  const find = (codeOrName: number | string): DoctypeHandler | undefined =>
    typeof codeOrName === 'number' ? byCode.get(codeOrName) : byName.get(codeOrName)
  return {
    get (codeOrName) {
      const handler = find(codeOrName)
      if (handler === undefined) {
        throw new UnknownDoctypeError(`This node has no doctype ${JSON.stringify(codeOrName)}; it knows ${[...byName.keys()].join(', ') || 'none'}`, {
          details: { doctype: codeOrName }
        })
      }
      return handler
    },
    has: (codeOrName) => find(codeOrName) !== undefined,
    list: () => [...byCode.values()]
  }
}
