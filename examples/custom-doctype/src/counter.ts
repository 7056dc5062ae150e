import { DoctypeRuleError, InvalidCommitError, type DoctypeFactory, type DoctypeHandler, type DocState } from '@kiln/interface'

/** The DocID type code of counters: outside Ceramic's 0–4 and Kiln's own doctypes. */
export const COUNTER_CODE = 1042

/** Options of the counter doctype. */
export interface CounterInit {
  /** The largest step one update may take (default: unlimited). */
  maxStep?: number
}

/** The content of a counter document. */
export interface CounterContent {
  count: number
}

/** A counter genesis: who controls it and where it starts. */
export interface CounterGenesis {
  header: { controllers: string[], unique?: string }
  data: { start: number }
}

/** A counter update: how much to add (a positive integer). */
export interface CounterUpdate {
  id: unknown
  prev: unknown
  data: { add: number }
}

function isPositiveInteger (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0
}

function readGenesis (payload: unknown): CounterGenesis {
  const genesis = payload as Partial<CounterGenesis> | null
  const controllers = genesis?.header?.controllers
  if (!Array.isArray(controllers) || controllers.length === 0 || !controllers.every((c) => typeof c === 'string')) {
    throw new InvalidCommitError('A counter genesis needs header.controllers, a list of DIDs')
  }
  if (typeof genesis?.data?.start !== 'number' || !Number.isSafeInteger(genesis.data.start)) {
    throw new InvalidCommitError('A counter genesis needs data.start, an integer')
  }
  return genesis as CounterGenesis
}

/** A document holding a number that only grows: each update adds a positive integer. */
export function counter (init: CounterInit = {}): DoctypeFactory<CounterContent> {
  return () => {
    const handler: DoctypeHandler<CounterContent> = {
      name: 'counter',
      code: COUNTER_CODE,
      signers: (state: DocState<CounterContent> | null, payload: unknown) =>
        state === null ? readGenesis(payload).header.controllers : state.metadata.controllers,
      async apply (state, commit) {
        if (state === null) {
          const genesis = readGenesis(commit.payload)
          return { content: { count: genesis.data.start }, metadata: { controllers: [...genesis.header.controllers] } }
        }
        const add = (commit.payload as Partial<CounterUpdate>).data?.add
        if (!isPositiveInteger(add)) throw new DoctypeRuleError(`A counter only grows: add must be a positive integer, got ${JSON.stringify(add)}`)
        if (init.maxStep !== undefined && add > init.maxStep) {
          throw new DoctypeRuleError(`A counter step is at most ${init.maxStep}, got ${add}`)
        }
        // A new object: the input state is never touched.
        return { content: { count: state.content.count + add }, metadata: state.metadata }
      }
    }
    return handler
  }
}
