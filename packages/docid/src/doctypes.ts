import { DuplicateRegistrationError, InvalidDocIDError, UnknownDoctypeError } from '@kiln/interface'
import { checkTypeCode, describe } from './wire.js'

/** A doctype's code (the varint in a DocID) and its name (the `doctype` field of state JSON). */
export interface DoctypeEntry {
  readonly code: number
  readonly name: string
}

/**
 * Ceramic's stream types, with Ceramic's exact names (`@ceramicnetwork/streamid`'s `StreamType`): Ceramic's clients
 * translate a name back to a code and fail on one they do not know. Kiln's account-link doctype is `caip10-link`;
 * codes 2–4 are Ceramic's and stay reserved.
 */
export const CERAMIC_DOCTYPES: readonly DoctypeEntry[] = Object.freeze([
  Object.freeze({ code: 0, name: 'tile' }),
  Object.freeze({ code: 1, name: 'caip10-link' }),
  Object.freeze({ code: 2, name: 'model' }),
  Object.freeze({ code: 3, name: 'MID' }),
  Object.freeze({ code: 4, name: 'UNLOADABLE' })
])

/** Kiln's own doctypes beyond Ceramic's: the schema doctype of `@kiln/doctype-schema`, the rules doctype of `@kiln/rules`. */
export const KILN_DOCTYPES: readonly DoctypeEntry[] = Object.freeze([
  Object.freeze({ code: 64, name: 'schema' }),
  Object.freeze({ code: 65, name: 'rules' })
])

/** A table of doctype codes and names, one name per code and one code per name; entries are never removed. */
export class DoctypeRegistry {
  readonly #byCode = new Map<number, DoctypeEntry>()
  readonly #byName = new Map<string, DoctypeEntry>()

  /** Creates a registry holding `entries` (none by default; the shared {@link doctypes} holds Ceramic's). */
  constructor (entries: Iterable<DoctypeEntry> = []) {
    for (const entry of entries) this.register(entry)
  }

  /** Adds a doctype; a code or name already taken throws `DuplicateRegistrationError`. Names are case-sensitive. */
  register (entry: DoctypeEntry): DoctypeEntry {
    const code = checkTypeCode(entry?.code)
    const name: unknown = entry?.name
    if (typeof name !== 'string' || name.length === 0) {
      throw new InvalidDocIDError(`Invalid doctype name ${JSON.stringify(describeName(name))}: must be a non-empty string`, {
        details: { value: describeName(name) }
      })
    }
    const byCode = this.#byCode.get(code)
    if (byCode !== undefined) {
      throw new DuplicateRegistrationError(`Doctype code ${code} is already registered as "${byCode.name}"`, {
        details: { code, name, registered: byCode.name }
      })
    }
    const byName = this.#byName.get(name)
    if (byName !== undefined) {
      throw new DuplicateRegistrationError(`Doctype name "${name}" is already registered with code ${byName.code}`, {
        details: { code, name, registered: byName.code }
      })
    }
    const frozen = Object.freeze({ code, name })
    this.#byCode.set(code, frozen)
    this.#byName.set(name, frozen)
    return frozen
  }

  /** The name registered for `code`; throws `UnknownDoctypeError` when there is none. */
  nameOf (code: number): string {
    const entry = this.#byCode.get(code)
    if (entry === undefined) {
      throw new UnknownDoctypeError(`No doctype is registered with code ${describe(code)}`, { details: { code } })
    }
    return entry.name
  }

  /** The code registered for `name`; throws `UnknownDoctypeError` when there is none. */
  codeOf (name: string): number {
    const entry = typeof name === 'string' ? this.#byName.get(name) : undefined
    if (entry === undefined) {
      throw new UnknownDoctypeError(`No doctype is registered with name ${JSON.stringify(describeName(name))}`, {
        details: { name: describeName(name) }
      })
    }
    return entry.code
  }

  /** The entry for a code or a name, or `undefined`. */
  find (codeOrName: number | string): DoctypeEntry | undefined {
    return typeof codeOrName === 'number' ? this.#byCode.get(codeOrName) : this.#byName.get(codeOrName)
  }

  /** True when a code or name is registered. */
  has (codeOrName: number | string): boolean {
    return this.find(codeOrName) !== undefined
  }

  /** Every entry, by ascending code. */
  entries (): DoctypeEntry[] {
    return [...this.#byCode.values()].sort((a, b) => a.code - b.code)
  }
}

/** The table DocIDs and CommitIDs read names from, preloaded with Ceramic's codes 0–4. Register new doctypes here. */
export const doctypes = new DoctypeRegistry([...CERAMIC_DOCTYPES, ...KILN_DOCTYPES])

/** A doctype code as given, or the code registered for a name in {@link doctypes}. */
export function toTypeCode (type: number | string): number {
  return typeof type === 'string' ? doctypes.codeOf(type) : checkTypeCode(type)
}

function describeName (name: unknown): string {
  return typeof name === 'string' ? name : describe(name)
}
