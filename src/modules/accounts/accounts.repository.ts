import type { ExpressionBuilder, Kysely, Selectable } from 'kysely'
import { isUniqueViolationOf } from '../../db/errors.ts'
import type { Database, UsersTable } from '../../db/schema.ts'

/**
 * A user as the application sees it: every column except the password hash, and the file name
 * of their current avatar (null without one), from which USER's avatar_url is made.
 */
export type UserRecord = Omit<Selectable<UsersTable>, 'password_hash' | 'username_lower' | 'email_lower'> & {
  avatar_file: string | null
}

/** A user with the password hash: read only by the queries that exist for signing in. */
export type UserCredentials = UserRecord & { password_hash: string }

/** The current avatar's file name, or null: one primary-key look-up per user row. */
const avatarFile = (eb: ExpressionBuilder<Database, 'users'>) =>
  eb.selectFrom('avatars').select('avatars.file_name').whereRef('avatars.user_id', '=', 'users.id').as('avatar_file')

/**
 * What a UserRecord is read with, in `select` and in `returning` alike. password_hash is never
 * among them.
 */
export const USER_COLUMNS = [
  'id',
  'username',
  'email',
  'display_name',
  'bio',
  'role',
  'disabled',
  'email_verified',
  'created_at',
  'updated_at',
  avatarFile,
] as const

const CREDENTIAL_COLUMNS = [...USER_COLUMNS, 'password_hash'] as const

export type UniqueField = 'username' | 'email'

/** A unique index refused the write: the username or the email (compared case-insensitively) is taken. */
export class DuplicateUserError extends Error {
  readonly field: UniqueField

  constructor(field: UniqueField) {
    super(`${field} already taken`)
    this.field = field
    this.name = 'DuplicateUserError'
  }
}

/** Which of our unique columns a database error is about, or null when it is not a unique violation of one. */
export function uniqueViolationField(error: unknown): UniqueField | null {
  if (isUniqueViolationOf(error, 'username_lower')) return 'username'
  if (isUniqueViolationOf(error, 'email_lower')) return 'email'
  return null
}

function rethrowDuplicate(error: unknown): never {
  const field = uniqueViolationField(error)
  if (field) throw new DuplicateUserError(field)
  throw error
}

export interface NewUser {
  username: string
  email: string
  passwordHash: string
  nowMs: number
  /** `learner` unless given (an invitation names the role). */
  role?: UsersTable['role']
  /** true: the address is known to be the person's (they followed an invitation sent to it). */
  emailVerified?: boolean
}

/** An account made for someone else (import-users): its role and name given, no password yet. */
export interface NewImportedUser {
  username: string
  email: string
  displayName: string
  role: 'learner' | 'instructor'
  nowMs: number
}

/**
 * The stored hash of an account whose owner has not chosen a password: not an argon2 hash, so
 * no password verifies against it (passwords.ts answers as for a wrong one, in the same time).
 */
export const NO_PASSWORD_HASH = '!no-password'

export interface ProfileChanges {
  display_name?: string
  bio?: string
  email?: string
}

export const lowerKey = (value: string) => value.toLowerCase()

export function createAccountsRepository(db: Kysely<Database>) {
  async function insertUser(
    user: Omit<NewImportedUser, 'role'> & { passwordHash: string; role: UserRecord['role']; emailVerified?: boolean },
  ): Promise<UserRecord> {
    try {
      return await db
        .insertInto('users')
        .values({
          username: user.username,
          username_lower: lowerKey(user.username),
          email: user.email,
          email_lower: lowerKey(user.email),
          password_hash: user.passwordHash,
          display_name: user.displayName,
          bio: '',
          role: user.role,
          disabled: 0,
          email_verified: user.emailVerified === true ? 1 : 0,
          created_at: user.nowMs,
          updated_at: user.nowMs,
        })
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow()
    } catch (error) {
      rethrowDuplicate(error)
    }
  }

  return {
    async findById(id: number): Promise<UserRecord | undefined> {
      return db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst()
    },

    /** Which of the two is already registered, ignoring case. */
    async takenFields(username: string, email: string): Promise<Set<UniqueField>> {
      const rows = await db
        .selectFrom('users')
        .select(['username_lower', 'email_lower'])
        .where((eb) => eb.or([eb('username_lower', '=', lowerKey(username)), eb('email_lower', '=', lowerKey(email))]))
        .execute()
      const taken = new Set<UniqueField>()
      for (const row of rows) {
        if (row.username_lower === lowerKey(username)) taken.add('username')
        if (row.email_lower === lowerKey(email)) taken.add('email')
      }
      return taken
    },

    /** Throws DuplicateUserError when a concurrent registration won the race for the name or email. */
    insert(user: NewUser): Promise<UserRecord> {
      return insertUser({ ...user, displayName: '', role: user.role ?? 'learner' })
    },

    /** Throws DuplicateUserError when the name or the address is taken (a write racing the import's checks). */
    insertImported(user: NewImportedUser): Promise<UserRecord> {
      return insertUser({ ...user, passwordHash: NO_PASSWORD_HASH })
    },

    /** Which of these usernames and addresses (lower-cased) are registered already. */
    async takenAmong(usernamesLower: string[], emailsLower: string[]) {
      const usernames = new Set<string>()
      const emails = new Set<string>()
      if (usernamesLower.length === 0 && emailsLower.length === 0) return { usernames, emails }
      const rows = await db
        .selectFrom('users')
        .select(['username_lower', 'email_lower'])
        .where((eb) =>
          eb.or([
            ...(usernamesLower.length > 0 ? [eb('username_lower', 'in', usernamesLower)] : []),
            ...(emailsLower.length > 0 ? [eb('email_lower', 'in', emailsLower)] : []),
          ]),
        )
        .execute()
      for (const row of rows) {
        usernames.add(row.username_lower)
        emails.add(row.email_lower)
      }
      return { usernames, emails }
    },

    /** Only the given fields change; the role, the flags and the hash are out of reach here. */
    async updateProfile(id: number, changes: ProfileChanges, nowMs: number): Promise<UserRecord | undefined> {
      const values: Partial<Record<'display_name' | 'bio' | 'email' | 'email_lower', string>> = {}
      if (changes.display_name !== undefined) values.display_name = changes.display_name
      if (changes.bio !== undefined) values.bio = changes.bio
      if (changes.email !== undefined) {
        values.email = changes.email
        values.email_lower = lowerKey(changes.email)
      }
      try {
        let query = db.updateTable('users').set({ ...values, updated_at: nowMs })
        if (values.email_lower !== undefined) {
          // Judged in the UPDATE itself against the stored address: a new address is unverified,
          // the same one in other letter case keeps its state.
          const newLower = values.email_lower
          query = query.set((eb) => ({
            email_verified: eb.case().when('email_lower', '=', newLower).then(eb.ref('email_verified')).else(0).end(),
          }))
        }
        return await query.where('id', '=', id).returning(USER_COLUMNS).executeTakeFirst()
      } catch (error) {
        rethrowDuplicate(error)
      }
    },

    async findCredentialsByUsername(username: string): Promise<UserCredentials | undefined> {
      return db
        .selectFrom('users')
        .select(CREDENTIAL_COLUMNS)
        .where('username_lower', '=', lowerKey(username))
        .executeTakeFirst()
    },

    /** Whether any admin account exists (a fresh installation has none until `lectern create-admin`). */
    async hasAdmin(): Promise<boolean> {
      const row = await db.selectFrom('users').select('id').where('role', '=', 'admin').limit(1).executeTakeFirst()
      return row !== undefined
    },

    /** The account's id, for decisions taken before its password is verified. */
    async findIdByUsername(username: string): Promise<number | undefined> {
      const row = await db
        .selectFrom('users')
        .select('id')
        .where('username_lower', '=', lowerKey(username))
        .executeTakeFirst()
      return row?.id
    },

    /** The account registered with this address, ignoring case. */
    async findByEmail(email: string): Promise<UserRecord | undefined> {
      return db.selectFrom('users').select(USER_COLUMNS).where('email_lower', '=', lowerKey(email)).executeTakeFirst()
    },

    async findCredentialsById(id: number): Promise<UserCredentials | undefined> {
      return db.selectFrom('users').select(CREDENTIAL_COLUMNS).where('id', '=', id).executeTakeFirst()
    },

    /**
     * Marks the address verified, if it is still `emailLower` and the account is enabled (a link
     * sent to an address the account has since left verifies nothing). Returns whether it did.
     */
    async markEmailVerified(id: number, emailLower: string, nowMs: number): Promise<boolean> {
      const result = await db
        .updateTable('users')
        .set({ email_verified: 1, updated_at: nowMs })
        .where('id', '=', id)
        .where('email_lower', '=', emailLower)
        .where('disabled', '=', 0)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) > 0
    },

    /**
     * Stores a new hash. With `expectedHash` (a rehash at login) the write happens only if the
     * stored hash is still the one verified, so it can never undo a concurrent password change.
     * Returns whether a row changed.
     */
    async setPasswordHash(id: number, passwordHash: string, nowMs: number, expectedHash?: string): Promise<boolean> {
      let query = db.updateTable('users').set({ password_hash: passwordHash, updated_at: nowMs }).where('id', '=', id)
      if (expectedHash !== undefined) query = query.where('password_hash', '=', expectedHash)
      const result = await query.executeTakeFirst()
      return Number(result.numUpdatedRows) > 0
    },
  }
}

export type AccountsRepository = ReturnType<typeof createAccountsRepository>
