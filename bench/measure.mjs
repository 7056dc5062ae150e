// Small timing helpers shared by the benchmarks.

/** Runs `fn` repeatedly for about `ms` milliseconds (after a warm-up) and returns operations per second. */
export async function rate (fn, { ms = 1500, warmup = 200 } = {}) {
  const until = (deadline) => performance.now() < deadline
  let deadline = performance.now() + warmup
  while (until(deadline)) await fn()
  let n = 0
  const start = performance.now()
  deadline = start + ms
  while (until(deadline)) { await fn(); n++ }
  return n / ((performance.now() - start) / 1000)
}

/** Prints one figure in the form scripts read: `bench <name>: <value> <unit>`. */
export function report (name, value, unit, note) {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 1 ? 2 : 3
  console.log(`bench ${name}: ${value.toFixed(digits)} ${unit}${note === undefined ? '' : `  (${note})`}`)
}

/** Prints a whole number (a count, a difference of counts) in the same form as {@link report}, without decimals. */
export function reportCount (name, value, unit, note) {
  console.log(`bench ${name}: ${value} ${unit}${note === undefined ? '' : `  (${note})`}`)
}
