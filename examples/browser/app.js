/* global document, localStorage */
// The example page's script: a Kiln node in the page, on the bundle dist/kiln.js (served at /kiln.js by serve.mjs).
import { browserStorage, createNode, keyDidSigner, makeGenesis, makeUpdate, randomSeed, seedFromHex, seedToHex, tile } from '/kiln.js'

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

// The node: the tile doctype, its documents in the IndexedDB database `level-kiln-example`.
const node = await createNode({ doctypes: [tile()], storage: browserStorage({ name: 'kiln-example' }) })

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
