import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/**
 * Security headers on every response, errors and 404s included. The CSP allows no inline
 * script or style anywhere: pages load their scripts and one stylesheet from our origin.
 */
export const securityHeaders = fp(
  async (app: FastifyInstance) => {
    await app.register(helmet, {
      global: true,
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          // blob: lets the profile page preview a chosen picture (URL.createObjectURL) before
          // it is uploaded; such URLs are made by our own script from a local file, never fetched.
          imgSrc: ["'self'", 'data:', 'blob:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
      crossOriginResourcePolicy: { policy: 'same-origin' },
      // HSTS only over HTTPS (below): on plain HTTP it is meaningless and can lock out a dev host.
      hsts: false,
    })
    app.addHook('onRequest', async (req, reply) => {
      if (req.protocol === 'https') reply.header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains')
    })
  },
  { name: 'security-headers' },
)
