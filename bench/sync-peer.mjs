// The serving node of the fresh-node sync bench, in a process of its own as a real peer would be: it opens the LevelDB
// directory it is given, listens on 127.0.0.1, prints its address as one JSON line, and stops when its stdin closes,
// printing the CPU time it used.
import { createNode } from '@kiln/core'
import { tile } from '@kiln/doctype-tile'
import { libp2pNetwork } from '@kiln/network-libp2p'
import { levelStorage } from '@kiln/storage-level'

const [path, networkName] = process.argv.slice(2)
let network
const factory = libp2pNetwork({ listen: ['/ip4/127.0.0.1/tcp/0'], network: networkName, keepaliveMs: 0, dialFilter: (a) => a.startsWith('/ip4/127.0.0.1/') })
const node = await createNode({ doctypes: [tile()], storage: levelStorage({ path }), durability: 'relaxed', network: (c) => (network = factory(c)) })
const started = process.cpuUsage()
console.log(JSON.stringify({ address: network.info().addresses[0] }))
process.stdin.resume()
process.stdin.on('end', () => {
  const { user, system } = process.cpuUsage(started)
  node.stop().then(() => {
    console.log(JSON.stringify({ cpuMs: (user + system) / 1000 }))
  }, (err) => { console.error(err); process.exitCode = 1 })
})
