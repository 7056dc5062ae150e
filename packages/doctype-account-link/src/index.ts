/** Placeholder. */ export {}
