import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'

export interface TotpRow {
  secret_sealed: string
  enabled_at: number | null
  last_used_step: number | null
}

export interface SignInChallengeRow {
  user_id: number
  login_user_key: string
  started_at: number
}

/**
 * Every query on the two-factor tables. Spending a code (a TOTP step, a recovery code) is one
 * conditional UPDATE, so of two requests racing with the same code the database lets one win.
 */
export function createTwoFactorRepository(db: Kysely<Database>) {
  const repository = {
    async findTotp(userId: number): Promise<TotpRow | undefined> {
      return db
        .selectFrom('totp_credentials')
        .select(['secret_sealed', 'enabled_at', 'last_used_step'])
        .where('user_id', '=', userId)
        .executeTakeFirst()
    },

    async hasEnabledTotp(userId: number): Promise<boolean> {
      const row = await db
        .selectFrom('totp_credentials')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('enabled_at', 'is not', null)
        .executeTakeFirst()
      return row !== undefined
    },

    /**
     * Keeps a new, unconfirmed secret in place of any earlier unconfirmed one. false when TOTP is
     * already on (nothing changed).
     */
    async savePendingTotp(userId: number, secretSealed: string, nowMs: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        await trx.deleteFrom('totp_credentials').where('user_id', '=', userId).where('enabled_at', 'is', null).execute()
        const inserted = await trx
          .insertInto('totp_credentials')
          .values({
            user_id: userId,
            secret_sealed: secretSealed,
            enabled_at: null,
            last_used_step: null,
            created_at: nowMs,
          })
          .onConflict((oc) => oc.column('user_id').doNothing())
          .executeTakeFirst()
        return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1
      })
    },

    /**
     * Turns the unconfirmed secret on, recording the step of the code that confirmed it (spent),
     * and gives the account this set of recovery codes. false when there was nothing to turn on
     * (already on, or never set up).
     */
    async enableTotp(userId: number, step: number, codeHashes: readonly string[], nowMs: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('totp_credentials')
          .set({ enabled_at: nowMs, last_used_step: step })
          .where('user_id', '=', userId)
          .where('enabled_at', 'is', null)
          .executeTakeFirst()
        if (Number(updated.numUpdatedRows) !== 1) return false
        await replaceCodes(trx, userId, codeHashes, nowMs)
        return true
      })
    },

    /** Records `step` as spent when it is later than the last one spent. true: this request spent it. */
    async spendTotpStep(userId: number, step: number): Promise<boolean> {
      const updated = await db
        .updateTable('totp_credentials')
        .set({ last_used_step: step })
        .where('user_id', '=', userId)
        .where('enabled_at', 'is not', null)
        .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
        .executeTakeFirst()
      return Number(updated.numUpdatedRows) === 1
    },

    /** A fresh set in place of the old (which stops working). */
    async replaceRecoveryCodes(userId: number, codeHashes: readonly string[], nowMs: number): Promise<void> {
      await db.transaction().execute((trx) => replaceCodes(trx, userId, codeHashes, nowMs))
    },

    /** Spends an unused code of the account. true: this request spent it. */
    async spendRecoveryCode(userId: number, codeHash: string, nowMs: number): Promise<boolean> {
      const updated = await db
        .updateTable('recovery_codes')
        .set({ used_at: nowMs })
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return Number(updated.numUpdatedRows) === 1
    },

    async countUnusedRecoveryCodes(userId: number): Promise<number> {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },

    /** The authenticator (on or pending) and the recovery codes go together. */
    /**
     * Turns the account's TOTP off when it is on; true for the one of two concurrent calls that did
     * (the other finds no enabled row), so the owner is told once.
     */
    async removeEnabledTotp(userId: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const deleted = await trx
          .deleteFrom('totp_credentials')
          .where('user_id', '=', userId)
          .where('enabled_at', 'is not', null)
          .executeTakeFirst()
        if (Number(deleted.numDeletedRows) === 0) return false
        await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
        return true
      })
    },

    async removeTotp(userId: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
        await trx.deleteFrom('totp_credentials').where('user_id', '=', userId).execute()
      })
    },

    /** The session's half-done sign-in, replacing any earlier one of that session. */
    async startChallenge(sessionIdHash: string, row: SignInChallengeRow): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('sign_in_challenges').where('session_id_hash', '=', sessionIdHash).execute()
        await trx
          .insertInto('sign_in_challenges')
          .values({ session_id_hash: sessionIdHash, ...row })
          .execute()
      })
    },

    async findChallenge(sessionIdHash: string): Promise<SignInChallengeRow | undefined> {
      return db
        .selectFrom('sign_in_challenges')
        .select(['user_id', 'login_user_key', 'started_at'])
        .where('session_id_hash', '=', sessionIdHash)
        .executeTakeFirst()
    },

    async endChallenge(sessionIdHash: string): Promise<void> {
      await db.deleteFrom('sign_in_challenges').where('session_id_hash', '=', sessionIdHash).execute()
    },

    /** Forgets half-done sign-ins started before `beforeMs` (abandoned ones). */
    async purgeChallenges(beforeMs: number): Promise<void> {
      await db.deleteFrom('sign_in_challenges').where('started_at', '<', beforeMs).execute()
    },
  }
  return repository
}

async function replaceCodes(trx: Kysely<Database>, userId: number, codeHashes: readonly string[], nowMs: number) {
  await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
  if (codeHashes.length === 0) return
  await trx
    .insertInto('recovery_codes')
    .values(codeHashes.map((code_hash) => ({ user_id: userId, code_hash, created_at: nowMs, used_at: null })))
    .execute()
}

export type TwoFactorRepository = ReturnType<typeof createTwoFactorRepository>
