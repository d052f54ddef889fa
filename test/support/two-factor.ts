import assert from 'node:assert/strict'
import { totpCodeAt } from '../../src/modules/two-factor/totp.ts'
import { createAgent, type Agent } from './agent.ts'
import type { TestApp } from './app.ts'
import { signedIn, type Role, type SignedInUser } from './factories.ts'

export const STEP_MS = 30_000

export interface TotpUser extends SignedInUser {
  secret: string
  recoveryCodes: string[]
}

/** The current code of `secret` on the app's clock, `offsetSteps` steps away. */
export function codeNow(t: TestApp, secret: string, offsetSteps = 0): Promise<string> {
  return totpCodeAt(secret, t.clock.now() + offsetSteps * STEP_MS)
}

/** Turns TOTP on for a signed-in user through the API; the clock then moves one step, so the next code is fresh. */
export async function enableTotp(t: TestApp, user: SignedInUser): Promise<TotpUser> {
  const setup = await user.agent.post('/api/2fa/totp/setup')
  assert.equal(setup.statusCode, 200, setup.body)
  const { secret } = setup.json() as { secret: string }
  const enabled = await user.agent.post('/api/2fa/totp/enable', { json: { code: await codeNow(t, secret) } })
  assert.equal(enabled.statusCode, 200, enabled.body)
  t.clock.advance(STEP_MS)
  return { ...user, secret, recoveryCodes: (enabled.json() as { recovery_codes: string[] }).recovery_codes }
}

/** A user of `role`, signed in, with TOTP on. */
export async function totpUser(t: TestApp, role: Role = 'learner', prefix?: string): Promise<TotpUser> {
  return enableTotp(t, await signedIn(t, role, prefix))
}

/** A fresh browser that has given the right password: it waits for the second step. */
export async function passwordStep(
  t: TestApp,
  user: { username: string; password: string },
  headers?: Record<string, string>,
): Promise<Agent> {
  const agent = createAgent(t, headers ? { headers } : {})
  const res = await agent.post('/api/login', { json: { username: user.username, password: user.password } })
  assert.equal(res.statusCode, 200, res.body)
  assert.deepEqual(res.json(), { two_factor_required: true })
  return agent
}
