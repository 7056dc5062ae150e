// In a browser, libp2p needs nothing from Kiln: WebSocket is a global there, and Promise.withResolvers is in every
// browser the bundle targets (Chrome 119, Firefox 121, Safari 17.4). Kept as a module so the import is the same.
export {}
