import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, WebauthnChallengesTable } from '../../db/schema.ts'

export type ChallengePurpose = WebauthnChallengesTable['purpose']

/** A passkey as the application sees it, without the key material. */
export interface PasskeySummary {
  id: number
  name: string
  created_at: number
  last_used_at: number | null
}

/** What verifying an assertion needs about a stored credential. */
export interface StoredCredential {
  id: number
  user_id: number
  credential_id: string
  public_key: Uint8Array<ArrayBuffer>
  counter: number
  transports: string[]
}

export interface NewPasskey {
  userId: number
  credentialId: string
  publicKey: Uint8Array
  counter: number
  transports: string[]
  name: string
  nowMs: number
}

/** A consumed challenge: what it was, for whom, until when. */
export interface ConsumedChallenge {
  challenge: string
  userId: number | null
  expiresAt: number
}

const SUMMARY_COLUMNS = ['id', 'name', 'created_at', 'last_used_at'] as const
const HANDLE_BYTES = 32

function transportsOf(text: string): string[] {
  const parsed: unknown = JSON.parse(text)
  return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : []
}

/** Passkeys, the accounts' WebAuthn user ids and the pending challenges (migration 0014). */
export function createPasskeysRepository(db: Kysely<Database>) {
  return {
    /** The account's WebAuthn user id, made (random) on first use; two racing first uses agree. */
    async userHandle(userId: number, nowMs: number): Promise<string> {
      await db
        .insertInto('passkey_user_handles')
        .values({ user_id: userId, handle: randomBytes(HANDLE_BYTES).toString('base64url'), created_at: nowMs })
        .onConflict((oc) => oc.column('user_id').doNothing())
        .execute()
      const row = await db
        .selectFrom('passkey_user_handles')
        .select('handle')
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow()
      return row.handle
    },

    /** The account's WebAuthn user id, or undefined when it never had a passkey ceremony. */
    async findUserHandle(userId: number): Promise<string | undefined> {
      const row = await db
        .selectFrom('passkey_user_handles')
        .select('handle')
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return row?.handle
    },

    async insert(passkey: NewPasskey): Promise<PasskeySummary> {
      return db
        .insertInto('passkeys')
        .values({
          user_id: passkey.userId,
          credential_id: passkey.credentialId,
          public_key: Buffer.from(passkey.publicKey),
          counter: passkey.counter,
          transports: JSON.stringify(passkey.transports),
          name: passkey.name,
          created_at: passkey.nowMs,
          last_used_at: null,
        })
        .returning(SUMMARY_COLUMNS)
        .executeTakeFirstOrThrow()
    },

    async listForUser(userId: number): Promise<PasskeySummary[]> {
      return db
        .selectFrom('passkeys')
        .select(SUMMARY_COLUMNS)
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
    },

    /** The credential ids of the account, for excludeCredentials. */
    async credentialsOfUser(userId: number): Promise<Array<{ credential_id: string; transports: string[] }>> {
      const rows = await db
        .selectFrom('passkeys')
        .select(['credential_id', 'transports'])
        .where('user_id', '=', userId)
        .execute()
      return rows.map((row) => ({ credential_id: row.credential_id, transports: transportsOf(row.transports) }))
    },

    async findByCredentialId(credentialId: string): Promise<StoredCredential | undefined> {
      const row = await db
        .selectFrom('passkeys')
        .select(['id', 'user_id', 'credential_id', 'public_key', 'counter', 'transports'])
        .where('credential_id', '=', credentialId)
        .executeTakeFirst()
      if (!row) return undefined
      return { ...row, public_key: new Uint8Array(row.public_key), transports: transportsOf(row.transports) }
    },

    async hasAny(userId: number): Promise<boolean> {
      const row = await db.selectFrom('passkeys').select('id').where('user_id', '=', userId).limit(1).executeTakeFirst()
      return row !== undefined
    },

    /** Removes one passkey of this account; undefined when the account has none by that id. */
    async remove(userId: number, passkeyId: number): Promise<PasskeySummary | undefined> {
      return db
        .deleteFrom('passkeys')
        .where('id', '=', passkeyId)
        .where('user_id', '=', userId)
        .returning(SUMMARY_COLUMNS)
        .executeTakeFirst()
    },

    async removeAll(userId: number): Promise<number> {
      const result = await db.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst()
      return Number(result.numDeletedRows)
    },

    /**
     * Records a use, in one UPDATE that also checks the counter moved forward: of two assertions
     * racing with the same counter value (a replayed or cloned authenticator), only one passes.
     * A counter of 0 stays acceptable only while both sides are 0 (authenticators that keep none).
     */
    async recordUse(passkeyId: number, newCounter: number, nowMs: number): Promise<boolean> {
      const result = await db
        .updateTable('passkeys')
        .set({ counter: newCounter, last_used_at: nowMs })
        .where('id', '=', passkeyId)
        .where('counter', newCounter === 0 ? '=' : '<', newCounter)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    /** Stores the session's challenge for this purpose, replacing the one pending. */
    async saveChallenge(row: {
      sessionIdHash: string
      purpose: ChallengePurpose
      challenge: string
      userId: number | null
      expiresAt: number
    }): Promise<void> {
      await db
        .insertInto('webauthn_challenges')
        .values({
          session_id_hash: row.sessionIdHash,
          purpose: row.purpose,
          challenge: row.challenge,
          user_id: row.userId,
          expires_at: row.expiresAt,
        })
        .onConflict((oc) =>
          oc
            .columns(['session_id_hash', 'purpose'])
            .doUpdateSet({ challenge: row.challenge, user_id: row.userId, expires_at: row.expiresAt }),
        )
        .execute()
    },

    /**
     * Takes the session's pending challenge for this purpose, in one DELETE: whatever comes of the
     * answer, the challenge is spent, and of two requests racing for it exactly one gets it.
     */
    async consumeChallenge(sessionIdHash: string, purpose: ChallengePurpose): Promise<ConsumedChallenge | undefined> {
      const row = await db
        .deleteFrom('webauthn_challenges')
        .where('session_id_hash', '=', sessionIdHash)
        .where('purpose', '=', purpose)
        .returning(['challenge', 'user_id', 'expires_at'])
        .executeTakeFirst()
      return row && { challenge: row.challenge, userId: row.user_id, expiresAt: row.expires_at }
    },
  }
}

export type PasskeysRepository = ReturnType<typeof createPasskeysRepository>
