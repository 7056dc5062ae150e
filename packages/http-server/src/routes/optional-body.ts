import type { FastifyRequest } from 'fastify'

/** A `preValidation` hook for routes whose JSON body may be left out: a missing body is validated as `{}`. */
export async function optionalBody (request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {}
}
