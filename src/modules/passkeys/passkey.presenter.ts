import type { PasskeySummary } from './passkeys.repository.ts'

/** A passkey in the API: a name and dates, never key material or the credential id. */
export interface PasskeyView {
  id: number
  name: string
  created_at: string
  last_used_at: string | null
}

export const PASSKEY_VIEW_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'created_at', 'last_used_at'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    created_at: { type: 'string' },
    last_used_at: { type: ['string', 'null'] },
  },
} as const

export function presentPasskey(passkey: PasskeySummary): PasskeyView {
  return {
    id: passkey.id,
    name: passkey.name,
    created_at: new Date(passkey.created_at).toISOString(),
    last_used_at: passkey.last_used_at === null ? null : new Date(passkey.last_used_at).toISOString(),
  }
}
