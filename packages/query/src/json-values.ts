// The JSON comparisons every backend must agree on: deep equality and the code-point order of strings.

/**
 * Deep JSON equality as queries define it: numbers by value (`0` equals `-0`), objects by their own keys regardless
 * of order, arrays element by element in order.
 */
export function jsonEquals (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  const aArray = Array.isArray(a)
  if (aArray !== Array.isArray(b)) return false
  if (aArray) {
    const left = a as unknown[]
    const right = b as unknown[]
    if (left.length !== right.length) return false
    for (let i = 0; i < left.length; i++) if (!jsonEquals(left[i], right[i])) return false
    return true
  }
  const left = a as Record<string, unknown>
  const right = b as Record<string, unknown>
  const keys = Object.keys(left)
  if (keys.length !== Object.keys(right).length) return false
  for (const key of keys) {
    if (!Object.hasOwn(right, key) || !jsonEquals(left[key], right[key])) return false
  }
  return true
}

/**
 * Compares two strings by Unicode code point (the order of their UTF-8 bytes, and of PostgreSQL's `COLLATE "C"`),
 * not by UTF-16 code unit as `<` does: they differ when one string holds a character above U+FFFF.
 */
export function compareCodePoints (a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    // A surrogate (0xD800–0xDFFF) is half of a character above U+FFFF, so it sorts after any other code unit, even
    // one in 0xE000–0xFFFF; two surrogates compare as their code units do.
    const surrogateX = x >= 0xd800 && x <= 0xdfff
    const surrogateY = y >= 0xd800 && y <= 0xdfff
    if (surrogateX !== surrogateY) return surrogateX ? 1 : -1
    return x - y
  }
  return a.length - b.length
}
