/**
 * Kiln hooks: `webhooks()`, a hook plugin that POSTs every new document state to the webhooks an admin registered,
 * signed with HMAC-SHA256, at least once, from a durable outbox (retries with exponential backoff, a dead letter after
 * the last attempt); and `verifyWebhook`, the check a receiver runs. See docs/hooks.md.
 * @packageDocumentation
 */
export { webhooks, type WebhooksInit, type Webhooks } from './webhooks.js'
export { signWebhook, verifyWebhook } from './signature.js'
export { retryDelay } from './backoff.js'
export { WebhooksOptionError } from './errors.js'
