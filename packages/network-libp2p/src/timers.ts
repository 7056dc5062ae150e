/**
 * Lets the process exit while `timer` is pending (Node's `unref`). A browser's timers are numbers with nothing to
 * unref, so there it does nothing.
 */
export function unrefTimer (timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.()
}
