import assert from 'node:assert/strict'
import type { Agent, AgentResponse } from './agent.ts'
import {
  createSoftAuthenticator,
  type CeremonyOverrides,
  type CreationOptions,
  type RequestOptions,
  type SoftAuthenticator,
  type SoftCredential,
} from './webauthn.ts'

export { createSoftAuthenticator, type SoftAuthenticator, type SoftCredential }

/** Where the passkey suites say Lectern is reached: the relying party is its host. */
export const PASSKEY_PUBLIC_URL = 'https://learn.example.org'
export const PASSKEY_ORIGIN = PASSKEY_PUBLIC_URL
export const PASSKEY_RP_ID = 'learn.example.org'

/** Asks for creation options as the signed-in `agent`, and answers them with `device`. */
export async function registrationAnswer(agent: Agent, device: SoftAuthenticator, overrides: CeremonyOverrides = {}) {
  const res = await agent.post('/api/passkeys/registration/options')
  assert.equal(res.statusCode, 200, res.body)
  const options = res.json() as CreationOptions
  return { options, ...device.register(options, overrides) }
}

/** Adds a passkey to the signed-in `agent`'s account: options, the authenticator's answer, 201. */
export async function addPasskey(
  agent: Agent,
  device: SoftAuthenticator,
  name?: string,
): Promise<{ credential: SoftCredential; id: number }> {
  const { credential, json } = await registrationAnswer(agent, device)
  const res = await agent.post('/api/passkeys', { json: { credential: json, ...(name === undefined ? {} : { name }) } })
  assert.equal(res.statusCode, 201, res.body)
  return { credential, id: (res.json() as { passkey: { id: number } }).passkey.id }
}

/** Request options for a sign-in, as `agent`'s session. */
export async function signInOptions(agent: Agent): Promise<RequestOptions> {
  const res = await agent.post('/api/login/passkey/options')
  assert.equal(res.statusCode, 200, res.body)
  return res.json() as RequestOptions
}

/** A whole passkey sign-in as `agent`: options, an assertion signed by `credential`, the answer. */
export async function passkeySignIn(
  agent: Agent,
  device: SoftAuthenticator,
  credential: SoftCredential,
  overrides: CeremonyOverrides = {},
): Promise<AgentResponse> {
  const options = await signInOptions(agent)
  return agent.post('/api/login/passkey', { json: { credential: device.assert(options, credential, overrides) } })
}
