import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server'
import { PASSKEY_NAME_MAX_LENGTH } from './passkeys.service.ts'

/** base64url, as WebAuthn's JSON carries binary; bounded so a body of junk costs nothing to refuse. */
const base64url = (maxLength: number) => ({ type: 'string', pattern: '^[A-Za-z0-9_-]*$', maxLength }) as const

/**
 * The browser's PublicKeyCredential as JSON (what @simplewebauthn/browser returns). The fields
 * WebAuthn defines are checked here; browsers add fields to this object as the standard grows
 * (`authenticatorAttachment`, extension results), so unknown ones inside it are let through to
 * the verifier, which reads only what it knows. The request bodies around it stay closed.
 */
function credentialSchema(response: Record<string, unknown>, required: readonly string[]) {
  return {
    type: 'object',
    required: ['id', 'rawId', 'type', 'response'],
    properties: {
      id: base64url(1400),
      rawId: base64url(1400),
      type: { const: 'public-key' },
      authenticatorAttachment: { type: 'string', maxLength: 32 },
      clientExtensionResults: { type: 'object' },
      response: { type: 'object', required, properties: response },
    },
  } as const
}

const clientDataJSON = base64url(8192)
const transports = { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 32 } } as const

export const addPasskeyBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['credential'],
  properties: {
    credential: credentialSchema(
      {
        clientDataJSON,
        attestationObject: base64url(65536),
        authenticatorData: base64url(65536),
        publicKey: base64url(8192),
        publicKeyAlgorithm: { type: 'integer' },
        transports,
      },
      ['clientDataJSON', 'attestationObject'],
    ),
    // No control characters: a name is shown on the profile page and read aloud by screen readers.
    name: { type: 'string', maxLength: PASSKEY_NAME_MAX_LENGTH, pattern: '^[^\\u0000-\\u001f\\u007f]*$' },
  },
} as const
export interface AddPasskeyBody {
  credential: RegistrationResponseJSON
  name?: string
}

export const passkeySignInBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['credential'],
  properties: {
    credential: credentialSchema(
      {
        clientDataJSON,
        authenticatorData: base64url(65536),
        signature: base64url(8192),
        userHandle: base64url(256),
      },
      ['clientDataJSON', 'authenticatorData', 'signature'],
    ),
  },
} as const
export interface PasskeySignInBody {
  credential: AuthenticationResponseJSON
}

export const passkeyIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const
export interface PasskeyIdParams {
  id: number
}
