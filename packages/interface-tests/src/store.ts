/** Placeholder: the store compliance suite is being written. */
export function storeTests (): void {}
