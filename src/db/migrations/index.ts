import type { Migration } from 'kysely/migration'
import * as users from './0001_users.ts'
import * as sessions from './0002_sessions.ts'
import * as rateLimitBlocks from './0003_rate_limit_blocks.ts'
import * as courses from './0004_courses.ts'
import * as avatars from './0005_avatars.ts'
import * as avatarFileNames from './0006_avatar_file_names.ts'
import * as avatarFileNamesBackfill from './0007_avatar_file_names_backfill.ts'
import * as signInAddresses from './0008_sign_in_addresses.ts'
import * as passwordResetTokens from './0009_password_reset_tokens.ts'
import * as emailVerification from './0010_email_verification.ts'
import * as auditEvents from './0011_audit_events.ts'
import * as invitations from './0012_invitations.ts'
import * as twoFactor from './0013_two_factor.ts'
import * as passkeys from './0014_passkeys.ts'
import * as quizzesCertificates from './0015_quizzes_certificates.ts'
import * as mediaAndOwners from './0016_media_and_owners.ts'

/**
 * Every migration, in order. Names sort by their number; a new migration is a new file and a
 * new line here, never an edit of an old one.
 */
export const migrations: Record<string, Migration> = {
  '0001_users': users,
  '0002_sessions': sessions,
  '0003_rate_limit_blocks': rateLimitBlocks,
  '0004_courses': courses,
  '0005_avatars': avatars,
  '0006_avatar_file_names': avatarFileNames,
  '0007_avatar_file_names_backfill': avatarFileNamesBackfill,
  '0008_sign_in_addresses': signInAddresses,
  '0009_password_reset_tokens': passwordResetTokens,
  '0010_email_verification': emailVerification,
  '0011_audit_events': auditEvents,
  '0012_invitations': invitations,
  '0013_two_factor': twoFactor,
  '0014_passkeys': passkeys,
  '0015_quizzes_certificates': quizzesCertificates,
  '0016_media_and_owners': mediaAndOwners,
}
