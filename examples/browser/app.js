/* global document, localStorage, location, window, URLSearchParams */
// The example page's script: a Kiln node in the page, on the bundle dist/kiln.js (served at /kiln.js by serve.mjs).
import { browserStorage, createNode, keyDidSigner, libp2pNetwork, makeGenesis, makeUpdate, randomSeed, seedFromHex, seedToHex, tile } from '/kiln.js'

const $ = (id) => document.getElementById(id)

// The DID: a seed kept in localStorage, so the page signs as the same did:key after a reload. (A real application
// keeps keys somewhere safer: see docs/browser.md.)
let seedHex = localStorage.getItem('kiln-example-seed')
if (seedHex === null) {
  seedHex = seedToHex(randomSeed())
  localStorage.setItem('kiln-example-seed', seedHex)
}
const signer = keyDidSigner({ seed: seedFromHex(seedHex) })
$('did').textContent = signer.did

// The daemon to sync with: `?peer=<multiaddr>&network=<name>` in the page's address, else what serve.mjs found by
// asking the daemon (config.json), else none: the page then keeps its documents to itself.
const { peer, network: networkName } = await daemonToSyncWith()

// The node: the tile doctype, its documents in the IndexedDB database `level-kiln-example`, and, with a daemon, the
// libp2p network over WebSockets (the page dials the daemon; it cannot listen).
let network
const node = await createNode({
  doctypes: [tile()],
  storage: browserStorage({ name: 'kiln-example' }),
  ...(peer === undefined ? {} : { network: (components) => (network = libp2pNetwork({ bootstrap: [peer], network: networkName, keepaliveMs: 0 })(components)) })
})
// For the console (and the tests): the node and its network.
window.kilnExample = { node, network }
showPeers()
network?.libp2p.addEventListener('peer:connect', showPeers)
network?.libp2p.addEventListener('peer:disconnect', showPeers)

// The document: created once, its DocID kept in localStorage; after a reload it is loaded from IndexedDB.
let docId = localStorage.getItem('kiln-example-doc')
if (docId === null) {
  const genesis = await makeGenesis({ note: 'created in the browser', edits: 0 }, {}, signer)
  const { id } = await node.createDocument('tile', genesis.commit)
  docId = id.toString()
  localStorage.setItem('kiln-example-doc', docId)
  $('status').textContent = 'Created the document.'
} else {
  $('status').textContent = 'Loaded the document from IndexedDB.'
}
$('doc').textContent = docId

async function daemonToSyncWith () {
  const params = new URLSearchParams(location.search)
  if (params.has('peer')) return { peer: params.get('peer'), network: params.get('network') ?? 'local-kiln' }
  try {
    const response = await fetch('./config.json')
    if (response.ok) {
      const config = await response.json()
      if (typeof config.peer === 'string') return { peer: config.peer, network: config.network ?? 'local-kiln' }
    }
  } catch {
    // No config.json (a static server other than serve.mjs): the page runs alone.
  }
  return {}
}

function showPeers () {
  if (network === undefined) { $('peers').textContent = 'no daemon (open the page with ?peer=<multiaddr>)'; return }
  const peers = network.libp2p.getPeers().map(String)
  $('peers').textContent = peers.length === 0 ? `connecting to ${peer}…` : `connected to ${peers.join(', ')}`
}

function show ({ state }) {
  $('state').textContent = JSON.stringify({ content: state.content, controllers: state.metadata.controllers, commits: state.log.length }, null, 2)
}
show(await node.load(docId))

// Watch: every new state of the document, whoever applied it.
void (async () => {
  for await (const snapshot of node.watch(docId)) show(snapshot)
})()

// An update: signed in the page, verified by the node (WebCrypto) before it is applied and stored.
$('edit').addEventListener('submit', async (event) => {
  event.preventDefault()
  try {
    const { state } = await node.load(docId)
    const content = { note: $('note').value, edits: state.content.edits + 1 }
    const update = await makeUpdate(state, content, signer)
    await node.applyCommit(docId, update.commit)
    $('status').textContent = `Applied update ${content.edits}.`
  } catch (err) {
    $('status').textContent = `${err.name}: ${err.message}`
  }
})
