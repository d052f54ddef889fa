import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'

/** Email-verification tokens by their hash; the token itself never reaches this layer. */
export function createEmailVerificationRepository(db: Kysely<Database>) {
  return {
    async insert(row: { tokenHash: string; userId: number; emailLower: string; nowMs: number; expiresAt: number }) {
      await db
        .insertInto('email_verification_tokens')
        .values({
          token_hash: row.tokenHash,
          user_id: row.userId,
          email_lower: row.emailLower,
          created_at: row.nowMs,
          expires_at: row.expiresAt,
          used_at: null,
        })
        .execute()
    },

    async remove(tokenHash: string): Promise<void> {
      await db.deleteFrom('email_verification_tokens').where('token_hash', '=', tokenHash).execute()
    },

    /** How many links the account was sent since `sinceMs`, used or not. */
    async countIssuedSince(userId: number, sinceMs: number): Promise<number> {
      const row = await db
        .selectFrom('email_verification_tokens')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
        .where('user_id', '=', userId)
        .where('created_at', '>', sinceMs)
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },

    /**
     * Consumes the token in one UPDATE (of two requests racing with it, exactly one changes the
     * row). Returns its account and the address it was sent to, or undefined when it did not work.
     */
    async consume(tokenHash: string, nowMs: number): Promise<{ userId: number; emailLower: string } | undefined> {
      const row = await db
        .updateTable('email_verification_tokens')
        .set({ used_at: nowMs })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', nowMs)
        .returning(['user_id', 'email_lower'])
        .executeTakeFirst()
      return row && { userId: row.user_id, emailLower: row.email_lower }
    },

    /** Every link of the account still outstanding stops working. Returns how many. */
    async voidAllForUser(userId: number, nowMs: number): Promise<number> {
      const result = await db
        .updateTable('email_verification_tokens')
        .set({ used_at: nowMs })
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows)
    },
  }
}
