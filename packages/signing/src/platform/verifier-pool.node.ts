// Node's verifier pool is the worker-thread one; the browser build resolves `#platform/verifier-pool` to
// verifier-pool.browser.ts.
export { createVerifierPool } from '../verifier-pool.js'
