import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { CertificatesTable, Database } from '../../db/schema.ts'

/** 144 random bits (the contract asks for at least 128): unguessable, 24 URL-safe characters. */
const CERTIFICATE_ID_BYTES = 18
/** What a certificate id looks like; anything else is not looked up at all. */
export const CERTIFICATE_ID_PATTERN = /^[A-Za-z0-9_-]{24}$/

export type CertificateRow = CertificatesTable

const COLUMNS = [
  'id',
  'user_id',
  'course_id',
  'learner_name',
  'course_slug',
  'course_title',
  'issued_at',
] as const satisfies ReadonlyArray<keyof CertificatesTable>

export const newCertificateId = () => randomBytes(CERTIFICATE_ID_BYTES).toString('base64url')

/** Certificates of completion. Pass a transaction to run the queries inside it. */
export function createCertificatesRepository(db: Kysely<Database>) {
  return {
    /**
     * Issues the user's certificate for the course when every lesson of it is complete now, once:
     * the unique (user, course) key makes a second issue, even a parallel one, a no-op. Returns
     * the certificate when this call issued it, null otherwise. The learner's name and the course's
     * title are copied as they are now.
     */
    async issueIfComplete(userId: number, courseId: number, nowMs: number): Promise<CertificateRow | null> {
      const counts = await db
        .selectFrom('lessons')
        .leftJoin('lesson_completions', (join) =>
          join.onRef('lesson_completions.lesson_id', '=', 'lessons.id').on('lesson_completions.user_id', '=', userId),
        )
        .select((eb) => [
          eb.fn.countAll<number>().as('total'),
          eb.fn.count<number>('lesson_completions.lesson_id').as('completed'),
        ])
        .where('lessons.course_id', '=', courseId)
        .executeTakeFirst()
      const total = Number(counts?.total ?? 0)
      if (total === 0 || Number(counts?.completed ?? 0) < total) return null
      const [user, course] = await Promise.all([
        db.selectFrom('users').select(['username', 'display_name']).where('id', '=', userId).executeTakeFirst(),
        db.selectFrom('courses').select(['slug', 'title']).where('id', '=', courseId).executeTakeFirst(),
      ])
      if (!user || !course) return null
      const row: CertificateRow = {
        id: newCertificateId(),
        user_id: userId,
        course_id: courseId,
        learner_name: user.display_name.trim() || user.username,
        course_slug: course.slug,
        course_title: course.title,
        issued_at: nowMs,
      }
      const inserted = await db
        .insertInto('certificates')
        .values(row)
        .onConflict((oc) => oc.columns(['user_id', 'course_id']).doNothing())
        .returning('id')
        .executeTakeFirst()
      return inserted ? row : null
    },

    /** The user's certificates, oldest first. */
    listForUser(userId: number): Promise<CertificateRow[]> {
      return db
        .selectFrom('certificates')
        .select(COLUMNS)
        .where('user_id', '=', userId)
        .orderBy('issued_at')
        .orderBy('id')
        .execute()
    },

    async find(id: string): Promise<CertificateRow | undefined> {
      if (!CERTIFICATE_ID_PATTERN.test(id)) return undefined
      return db.selectFrom('certificates').select(COLUMNS).where('id', '=', id).executeTakeFirst()
    },
  }
}

export type CertificatesRepository = ReturnType<typeof createCertificatesRepository>
