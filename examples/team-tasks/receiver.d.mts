import type { Server } from 'node:http'

/** What the node POSTs to a webhook (see docs/hooks.md). */
export interface Delivery {
  docId: string
  commitId: string
  tip: string
  state: { content: unknown, [field: string]: unknown }
  deliveryId: string
  attempt: number
}

export function verifyDelivery (secret: string, timestamp: unknown, body: string, signature: unknown, nowS?: number): boolean
export function createReceiver (init: { secret: string, onDelivery: (delivery: Delivery) => unknown }): Server
