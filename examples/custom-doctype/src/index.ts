/**
 * An example third-party doctype: an append-only counter. It depends on `@kiln/interface` alone and plugs into any
 * Kiln node through `createNode({ doctypes: [counter()] })`.
 * @packageDocumentation
 */
export { counter, COUNTER_CODE, type CounterInit, type CounterContent, type CounterGenesis, type CounterUpdate } from './counter.js'
