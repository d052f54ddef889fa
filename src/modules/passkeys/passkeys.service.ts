import type { FastifyRequest } from 'fastify'
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server'
import { isUniqueViolationOf } from '../../db/errors.ts'
import { securityEvent } from '../../http/request-context.ts'
import type { Clock } from '../../lib/clock.ts'
import type { Mailer } from '../../mail/mailer.ts'
import type { UserRecord } from '../accounts/accounts.repository.ts'
import type { ChallengePurpose, PasskeySummary, PasskeysRepository } from './passkeys.repository.ts'
import { relyingPartyOf, type RelyingParty } from './relying-party.ts'

/** How long the answer to a set of options may take: the challenge expires then (browsers are told too). */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000
export const DEFAULT_PASSKEY_NAME = 'Passkey'
export const PASSKEY_NAME_MAX_LENGTH = 64
/** What the name of the relying party reads as in the browser's and the authenticator's prompts. */
const RP_NAME = 'Lectern'
/** How much of a verification library's message goes into a log line, for the operator. */
const DETAIL_MAX_CHARS = 200

/** Why a passkey was refused, as `extra.reason` in the log: never shown to the client. */
export type PasskeyRefusal =
  | 'no_challenge'
  | 'challenge_expired'
  | 'unknown_credential'
  | 'user_handle_mismatch'
  | 'verification_failed'
  | 'counter_regression'

export type PasskeySignInResult =
  | { status: 'signed_in'; user: UserRecord }
  | { status: 'invalid' }
  /** The passkey was right; the account is disabled. */
  | { status: 'disabled' }
  /** The passkey was right; sign-in waits for the address to be verified (REQUIRE_EMAIL_VERIFICATION). */
  | { status: 'email_not_verified' }

export type PasskeyAddResult =
  | { status: 'added'; passkey: PasskeySummary }
  | { status: 'invalid' }
  /** This authenticator's credential is already registered (to this or another account). */
  | { status: 'duplicate' }

export interface PasskeysServiceDeps {
  repository: PasskeysRepository
  /** The accounts a passkey signs in: the same look-up as every signed-in request. */
  findUser(userId: number): Promise<UserRecord | undefined>
  clock: Clock
  /** PUBLIC_URL: the relying party's id and the origin answers must come from derive from it only. */
  publicUrl: string
  /** REQUIRE_EMAIL_VERIFICATION: an unverified account signs in with no credential, passkeys included. */
  emailVerificationRequired: boolean
  /** Tells the owner of each passkey added (a borrowed session could add one that outlives it). */
  mailer: Pick<Mailer, 'send'>
}

/** `via: 'form'` on the events of the pages' forms; nothing for the API. */
type Via = { via?: 'form' }

const shortDetail = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).slice(0, DETAIL_MAX_CHARS)

/** A name as typed, tidied: NFC, trimmed, blank → the default. The schema has bounded its length. */
export function passkeyName(typed: string | undefined): string {
  const name = (typed ?? '').normalize('NFC').trim()
  return name === '' ? DEFAULT_PASSKEY_NAME : name.slice(0, PASSKEY_NAME_MAX_LENGTH)
}

/**
 * Passkeys (CONTRACT §11): adding one (options, then the authenticator's answer), listing and
 * removing them, and signing in with one. The relying party is PUBLIC_URL's host and answers
 * must come from PUBLIC_URL's origin, never from what a request's Host header says, so a page
 * served under another name (a phishing proxy) gets signatures no Lectern accepts.
 *
 * Every ceremony's challenge is kept in the database under the session that asked for it
 * (migration 0014): single use, consumed before the answer is verified, expiring after
 * CHALLENGE_TTL_MS on the injected clock.
 */
export function createPasskeysService(deps: PasskeysServiceDeps) {
  const { repository, clock } = deps
  const rp: RelyingParty = relyingPartyOf(deps.publicUrl)

  async function issueChallenge(
    req: FastifyRequest,
    purpose: ChallengePurpose,
    challenge: string,
    userId: number | null,
  ) {
    const sessionIdHash = await req.session.ensure()
    await repository.saveChallenge({
      sessionIdHash,
      purpose,
      challenge,
      userId,
      expiresAt: clock.now() + CHALLENGE_TTL_MS,
    })
  }

  /** The session's pending challenge, spent now; a refusal reason when there is none to use. */
  async function takeChallenge(
    req: FastifyRequest,
    purpose: ChallengePurpose,
  ): Promise<{ challenge: string; userId: number | null } | { refused: PasskeyRefusal }> {
    const sessionIdHash = req.session.id
    const pending = sessionIdHash === null ? undefined : await repository.consumeChallenge(sessionIdHash, purpose)
    if (!pending) return { refused: 'no_challenge' }
    if (pending.expiresAt <= clock.now()) return { refused: 'challenge_expired' }
    return pending
  }

  function signInRefused(req: FastifyRequest, reason: PasskeyRefusal, extra: Record<string, unknown> = {}) {
    securityEvent(req, 'auth_failure', { method: 'passkey', reason, ...extra })
    return { status: 'invalid' } as const
  }

  return {
    relyingParty: rp,

    async registrationOptions(
      req: FastifyRequest,
      user: Pick<UserRecord, 'id' | 'username' | 'display_name'>,
    ): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const handle = await repository.userHandle(user.id, clock.now())
      const existing = await repository.credentialsOfUser(user.id)
      const options = await generateRegistrationOptions({
        rpName: RP_NAME,
        rpID: rp.id,
        userName: user.username,
        userID: Buffer.from(handle, 'base64url'),
        userDisplayName: user.display_name || user.username,
        timeout: CHALLENGE_TTL_MS,
        attestationType: 'none',
        // The same authenticator twice would be one key under two names.
        excludeCredentials: existing.map((c) => ({ id: c.credential_id, transports: c.transports })),
        // Discoverable, so sign-in needs no username; verified (PIN, biometrics), so the passkey
        // alone is two factors and a sign-in needs nothing else.
        authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      })
      await issueChallenge(req, 'registration', options.challenge, user.id)
      return options
    },

    async add(
      req: FastifyRequest & { user: { id: number } },
      credential: RegistrationResponseJSON,
      typedName: string | undefined,
      via: Via = {},
    ): Promise<PasskeyAddResult> {
      const userId = req.user.id
      const refused = (reason: PasskeyRefusal | 'other_account', extra: Record<string, unknown> = {}) => {
        securityEvent(req, 'passkey_failure', { stage: 'registration', reason, ...extra, ...via })
        return { status: 'invalid' } as const
      }
      const pending = await takeChallenge(req, 'registration')
      if ('refused' in pending) return refused(pending.refused)
      // Sign-in rotates the session, so this holds already; checked as the rule it is.
      if (pending.userId !== userId) return refused('other_account')
      let verified
      try {
        verified = await verifyRegistrationResponse({
          response: credential,
          expectedChallenge: pending.challenge,
          expectedOrigin: rp.origin,
          expectedRPID: rp.id,
          requireUserVerification: true,
        })
      } catch (error) {
        return refused('verification_failed', { detail: shortDetail(error) })
      }
      if (!verified.verified) return refused('verification_failed')
      const { credential: made } = verified.registrationInfo
      let passkey
      try {
        passkey = await repository.insert({
          userId,
          credentialId: made.id,
          publicKey: made.publicKey,
          counter: made.counter,
          transports: made.transports ?? [],
          name: passkeyName(typedName),
          nowMs: clock.now(),
        })
      } catch (error) {
        if (!isUniqueViolationOf(error, 'credential_id')) throw error
        securityEvent(req, 'passkey_failure', { stage: 'registration', reason: 'duplicate', ...via })
        return { status: 'duplicate' }
      }
      securityEvent(req, 'passkey_added', { key_id: passkey.id, ...via })
      const owner = await deps.findUser(userId)
      if (owner) {
        deps.mailer.send({
          to: owner.email,
          kind: 'passkey_added',
          data: { username: owner.username, addedAt: passkey.created_at },
        })
      }
      return { status: 'added', passkey }
    },

    list: (userId: number) => repository.listForUser(userId),

    /** Removes one of the signed-in account's passkeys; false when it has none by that id (another's included). */
    async remove(req: FastifyRequest & { user: { id: number } }, passkeyId: number, via: Via = {}): Promise<boolean> {
      const removed = await repository.remove(req.user.id, passkeyId)
      if (!removed) return false
      securityEvent(req, 'passkey_removed', { key_id: removed.id, ...via })
      return true
    },

    async authenticationOptions(req: FastifyRequest): Promise<PublicKeyCredentialRequestOptionsJSON> {
      // No allowCredentials: the authenticator offers the discoverable passkeys it holds for this
      // relying party, and nothing tells a stranger which accounts have passkeys.
      const options = await generateAuthenticationOptions({
        rpID: rp.id,
        userVerification: 'required',
        timeout: CHALLENGE_TTL_MS,
      })
      await issueChallenge(req, 'authentication', options.challenge, null)
      return options
    },

    /**
     * Signs in with a passkey's assertion. The route's login policy (per address) reserved an
     * attempt before the body was read; only a refusal keeps it.
     */
    async signIn(req: FastifyRequest, credential: AuthenticationResponseJSON): Promise<PasskeySignInResult> {
      // Spent first, whatever follows: an answer gets one try at its challenge.
      const pending = await takeChallenge(req, 'authentication')
      if ('refused' in pending) return signInRefused(req, pending.refused)
      const stored = await repository.findByCredentialId(credential.id)
      if (!stored) return signInRefused(req, 'unknown_credential')
      const attempted = { attempted_user_id: stored.user_id, key_id: stored.id }
      // A discoverable credential names its account: it must be the one the passkey was added to.
      const handle = await repository.findUserHandle(stored.user_id)
      if (!credential.response.userHandle || credential.response.userHandle !== handle) {
        return signInRefused(req, 'user_handle_mismatch', attempted)
      }
      let verified
      try {
        verified = await verifyAuthenticationResponse({
          response: credential,
          expectedChallenge: pending.challenge,
          expectedOrigin: rp.origin,
          expectedRPID: rp.id,
          credential: {
            id: stored.credential_id,
            publicKey: stored.public_key,
            counter: stored.counter,
            transports: stored.transports,
          },
          requireUserVerification: true,
        })
      } catch (error) {
        const detail = shortDetail(error)
        const reason = /counter value/i.test(detail) ? 'counter_regression' : 'verification_failed'
        return signInRefused(req, reason, { ...attempted, detail })
      }
      if (!verified.verified) return signInRefused(req, 'verification_failed', attempted)
      // The counter is checked again where it is written: two answers racing with one counter
      // value (a cloned authenticator) cannot both pass.
      if (!(await repository.recordUse(stored.id, verified.authenticationInfo.newCounter, clock.now()))) {
        return signInRefused(req, 'counter_regression', attempted)
      }

      const user = await deps.findUser(stored.user_id)
      if (!user) return signInRefused(req, 'unknown_credential')
      // A right passkey is no failure to count; the 403 tells only someone holding it.
      await req.refundRateLimits()
      if (user.disabled) {
        securityEvent(req, 'auth_failure', { ...attempted, method: 'passkey', reason: 'account_disabled' })
        return { status: 'disabled' }
      }
      if (deps.emailVerificationRequired && user.email_verified !== 1) {
        securityEvent(req, 'auth_failure', { ...attempted, method: 'passkey', reason: 'email_not_verified' })
        return { status: 'email_not_verified' }
      }
      await req.session.signIn(user.id)
      securityEvent(req, 'auth_success', { username: user.username, method: 'passkey', key_id: stored.id })
      return { status: 'signed_in', user }
    },
  }
}

export type PasskeysService = ReturnType<typeof createPasskeysService>
