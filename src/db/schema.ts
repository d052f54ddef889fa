import type { Generated } from 'kysely'

/**
 * The typed shape of every table, for queries. Portable column conventions (see docs/adr/0002):
 * timestamps are integer milliseconds since the epoch, flags are 0/1 integers, ids are integers.
 * Migrations never import this file: they describe the schema as it was then.
 */
export interface UsersTable {
  id: Generated<number>
  username: string
  /** Lower-cased copy: uniqueness and look-ups ignore case on every database. */
  username_lower: string
  email: string
  email_lower: string
  password_hash: string
  display_name: string
  bio: string
  role: 'learner' | 'instructor' | 'admin'
  disabled: number
  /** 1 once the owner followed a link sent to `email`; back to 0 when the address changes. */
  email_verified: Generated<number>
  created_at: number
  updated_at: number
}

/** Server-side sessions (docs/adr/0008): the cookie's random value is never stored, only its SHA-256. */
export interface SessionsTable {
  /** Hex SHA-256 of the cookie value; also the session id CSRF tokens are bound to. */
  id_hash: string
  /** null for an anonymous session. */
  user_id: number | null
  created_at: number
  last_seen_at: number
  idle_expires_at: number
  absolute_expires_at: number
}

/** Blocks of the in-memory rate limiter, for `lectern rate-limits` (docs/adr/0010). */
export interface RateLimitBlocksTable {
  /** The counter key, `POLICY:KIND:VALUE` (a username appears only as its keyed hash). */
  key: string
  policy: string
  key_kind: string
  block_id: string
  blocked_until: number
  created_at: number
}

export interface AppMetaTable {
  key: string
  value: string
}

/** A course or an ebook: the two share their shape, and their queries (modules/catalog/catalog.repository.ts). */
export interface WorksTable {
  id: Generated<number>
  slug: string
  title: string
  description: string
  published: number
  created_by: number | null
  created_at: number
  updated_at: number
}

/** Columns a lesson and a chapter share; each adds the id of its course or ebook. */
export interface PartColumns {
  id: Generated<number>
  /** Sort key; the 1-based number in URLs is the rank by (position, id). */
  position: number
  /** The import file's name without its number (`intro` for 01-intro.md); null when written through the API. */
  source_key: string | null
  title: string
  body_markdown: string
  created_at: number
  updated_at: number
}

export interface LessonsTable extends PartColumns {
  course_id: number
}

export interface ChaptersTable extends PartColumns {
  ebook_id: number
}

export interface EnrollmentsTable {
  user_id: number
  course_id: number
  enrolled_at: number
}

export interface LessonCompletionsTable {
  user_id: number
  lesson_id: number
  completed_at: number
}

export interface ReadingPositionsTable {
  user_id: number
  ebook_id: number
  chapter_id: number
  /** How far into the chapter, 0..1. */
  position: number
  /** When the reader was there: decides which of two updates is newer. */
  read_at: number
  recorded_at: number
}

/** A user's current avatar: re-encoded bytes, never the upload (modules/avatars). */
export interface AvatarsTable {
  user_id: number
  content_type: 'image/jpeg' | 'image/png'
  data: Buffer
  /** Hex SHA-256 of `data`: the strong ETag. */
  sha256: string
  /** The last segment of the avatar's URL, `<hash prefix>.<ext>`. */
  file_name: string
  width: number
  height: number
  updated_at: number
}

/** Every name a user's avatar was stored under: an earlier avatar's URL redirects, no other name does. */
export interface AvatarFileNamesTable {
  user_id: number
  file_name: string
  stored_at: number
}

/** Where each account signed in successfully, by keyed hash of the client address. */
export interface SignInAddressesTable {
  user_id: number
  address_hash: string
  last_sign_in_at: number
}

/** A one-time password-reset link: only the SHA-256 of its token is kept (CONTRACT §10). */
export interface PasswordResetTokensTable {
  /** Hex SHA-256 of the token in the link. */
  token_hash: string
  user_id: number
  /**
   * `self` (asked for at /api/password/forgot), `admin`, `cli`, or `import` (the set-password link
   * of an account made by import-users: setting the password through it proves the address).
   */
  issued_by: 'self' | 'admin' | 'cli' | 'import'
  created_at: number
  expires_at: number
  /** When it was consumed or voided; null while it still works. */
  used_at: number | null
}

/** Email-verification links (CONTRACT §10): only the token's SHA-256, and the address it was sent to. */
export interface EmailVerificationTokensTable {
  token_hash: string
  user_id: number
  /** The address the link went to, lower-cased: it verifies that address only. */
  email_lower: string
  created_at: number
  expires_at: number
  /** When it was consumed or voided; null while it still works. */
  used_at: number | null
}

/** The audit trail of security events (modules/audit): one row per granted action, or per denial's minute. */
export interface AuditEventsTable {
  id: Generated<number>
  /** When the row's first event happened. */
  timestamp: number
  /** The start of that event's minute: with event, remote_addr and occurrence, the row's unique key. */
  minute: number
  event: string
  user_id: number | null
  /** A copy taken when the row was written, so a deleted account's trail still reads. */
  username: string | null
  remote_addr: string
  request_id: string | null
  /** How many events the row stands for (more than 1 only for a flood of denials). */
  count: number
  /** JSON text: the redacted `extra` of the log line. */
  extra: string
  /** '' for a denial's per-minute row, which every instance counts into; a random id for a granted action. */
  occurrence: string
}

/** A WebAuthn credential of an account (CONTRACT §11): its public key, never anything that signs in. */
export interface PasskeysTable {
  id: Generated<number>
  user_id: number
  /** base64url of the credential id the authenticator chose; unique across accounts. */
  credential_id: string
  /** COSE public key. */
  public_key: Buffer
  /** The signature counter last seen (0 for authenticators that keep none). */
  counter: number
  /** JSON array of transports ("internal", "usb", "hybrid", …), handed back to browsers as hints. */
  transports: string
  name: string
  created_at: number
  last_used_at: number | null
}

/** Each account's random WebAuthn user id (base64url): authenticators never see the numeric id. */
export interface PasskeyUserHandlesTable {
  user_id: number
  handle: string
  created_at: number
}

/** The challenge of a passkey ceremony under way, one per session and purpose; consumed by deleting it. */
export interface WebauthnChallengesTable {
  session_id_hash: string
  purpose: 'registration' | 'authentication'
  /** base64url, as sent in the options. */
  challenge: string
  /** The account adding a passkey; null for a sign-in. */
  user_id: number | null
  expires_at: number
}

/** A lesson's quiz with its right answers (modules/quizzes): JSON of QuizQuestion[], never sent to learners. */
export interface LessonQuizzesTable {
  lesson_id: number
  questions: string
  updated_at: number
}

/** A course's own settings; no row: the defaults (pass_percent 80). */
export interface CourseSettingsTable {
  course_id: number
  pass_percent: number
}

/** One graded quiz attempt; every attempt is kept. */
export interface QuizAttemptsTable {
  id: Generated<number>
  user_id: number
  lesson_id: number
  /** JSON: question id → the choice ids sent. */
  answers: string
  /** JSON: question id → answered right. */
  correct: string
  score: number
  total: number
  percent: number
  passed: number
  created_at: number
}

/** A course certificate, issued once per (user, course); names and title as they were when issued. */
export interface CertificatesTable {
  /** At least 128 random bits, base64url: the public verification address. */
  id: string
  user_id: number
  /** null once the course is deleted: the certificate stays valid. */
  course_id: number | null
  learner_name: string
  course_slug: string
  course_title: string
  issued_at: number
}

/** A lesson image, re-encoded, named by the SHA-256 of its bytes (modules/media). */
export interface MediaTable {
  sha256: string
  content_type: 'image/jpeg' | 'image/png'
  data: Buffer
  width: number
  height: number
  created_by: number | null
  created_at: number
}

/** Who may change a course or an ebook: exactly one of course_id and ebook_id is set. */
export interface WorkOwnersTable {
  id: Generated<number>
  course_id: number | null
  ebook_id: number | null
  user_id: number
}

/** Invitations to register (CONTRACT §15): only the token's SHA-256; the address it was sent to. */
export interface InvitationsTable {
  id: Generated<number>
  token_hash: string
  /** As the admin typed it (trimmed); the account gets this address. */
  email: string
  email_lower: string
  role: 'learner' | 'instructor'
  /** The course the new account is enrolled in; null for none (or a course since deleted). */
  course_id: number | null
  invited_by: number | null
  created_at: number
  expires_at: number
  /** When an account was created with it; null while it is pending. */
  used_at: number | null
  /** The account created with it. */
  user_id: number | null
}

/** A TOTP authenticator (CONTRACT §11): the secret only sealed (modules/two-factor/secret-box.ts). */
export interface TotpCredentialsTable {
  user_id: number
  /** `v1.<iv>.<ciphertext>.<tag>`, base64url: AES-256-GCM, the user id as associated data. */
  secret_sealed: string
  /** null while set up but not confirmed with a code. */
  enabled_at: number | null
  /** RFC 6238 time step of the last accepted code: a code of this step or an earlier one is refused. */
  last_used_step: number | null
  created_at: number
}

/** One recovery code: only its keyed hash. */
export interface RecoveryCodesTable {
  id: Generated<number>
  user_id: number
  code_hash: string
  created_at: number
  /** When it was spent; null while it still works. */
  used_at: number | null
}

/** A sign-in whose password was right and whose second step is to come, bound to its session. */
export interface SignInChallengesTable {
  session_id_hash: string
  user_id: number
  /** The failed-login counter of the username typed, reset only once the second step succeeds. */
  login_user_key: string
  started_at: number
}

export interface Database {
  users: UsersTable
  app_meta: AppMetaTable
  sessions: SessionsTable
  rate_limit_blocks: RateLimitBlocksTable
  courses: WorksTable
  lessons: LessonsTable
  ebooks: WorksTable
  chapters: ChaptersTable
  enrollments: EnrollmentsTable
  lesson_completions: LessonCompletionsTable
  reading_positions: ReadingPositionsTable
  avatars: AvatarsTable
  avatar_file_names: AvatarFileNamesTable
  sign_in_addresses: SignInAddressesTable
  password_reset_tokens: PasswordResetTokensTable
  email_verification_tokens: EmailVerificationTokensTable
  audit_events: AuditEventsTable
  passkeys: PasskeysTable
  passkey_user_handles: PasskeyUserHandlesTable
  webauthn_challenges: WebauthnChallengesTable
  lesson_quizzes: LessonQuizzesTable
  course_settings: CourseSettingsTable
  quiz_attempts: QuizAttemptsTable
  certificates: CertificatesTable
  media: MediaTable
  work_owners: WorkOwnersTable
  invitations: InvitationsTable
  totp_credentials: TotpCredentialsTable
  recovery_codes: RecoveryCodesTable
  sign_in_challenges: SignInChallengesTable
}
