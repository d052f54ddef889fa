/** The closed list of event names. A name outside it is a compile error, so dashboards and the analyzer can rely on it. */
export const REQUEST_EVENTS = ['request_received', 'request_complete', 'unhandled_error'] as const

export const SECURITY_EVENTS = [
  'auth_success',
  'auth_failure',
  'logout',
  'csrf_violation',
  'rate_limited',
  'upload_rejected',
  'permission_denied',
  'admin_action',
  'password_changed',
  'password_reset_requested',
  'password_reset',
  'email_verification_requested',
  'email_verified',
  'content_rejected',
  'passkey_added',
  'passkey_removed',
  'passkey_failure',
  'media_uploaded',
  'invitation_accepted',
  'invitation_rejected',
  'two_factor_enabled',
  'two_factor_disabled',
  'two_factor_failure',
  'recovery_code_used',
] as const

export const LIFECYCLE_EVENTS = [
  'server_started',
  'server_stopping',
  'server_stopped',
  'database_migrated',
  'database_unavailable',
  'content_seeded',
  'config_invalid',
  'redis_unavailable',
  'redis_recovered',
  'rate_limit_store_full',
  'log_rotated',
  'log_write_failed',
  'file_permissions_tightened',
  'no_admin',
  'audit_events_dropped',
] as const

/** Outgoing email (src/mail): `extra.kind` is the template, `extra.transport` is `smtp` or `outbox`. */
export const MAIL_EVENTS = ['email_sent', 'email_failed'] as const

/** Learning milestones (modules/certificates): `certificate_issued` with `extra.course_id`. */
export const LEARNING_EVENTS = ['certificate_issued'] as const

export type RequestEventName = (typeof REQUEST_EVENTS)[number]
export type SecurityEventName = (typeof SECURITY_EVENTS)[number]
export type LifecycleEventName = (typeof LIFECYCLE_EVENTS)[number]
export type MailEventName = (typeof MAIL_EVENTS)[number]
export type LearningEventName = (typeof LEARNING_EVENTS)[number]
export type EventName = RequestEventName | SecurityEventName | LifecycleEventName | MailEventName | LearningEventName

export const ALL_EVENTS: readonly EventName[] = [
  ...REQUEST_EVENTS,
  ...SECURITY_EVENTS,
  ...LIFECYCLE_EVENTS,
  ...MAIL_EVENTS,
  ...LEARNING_EVENTS,
]

/** Denials are warnings (they are what an operator alerts on); successful security actions are info. */
export const SECURITY_EVENT_LEVEL: Record<SecurityEventName, 'info' | 'warning'> = {
  auth_success: 'info',
  auth_failure: 'warning',
  logout: 'info',
  csrf_violation: 'warning',
  rate_limited: 'warning',
  upload_rejected: 'warning',
  permission_denied: 'warning',
  admin_action: 'info',
  password_changed: 'info',
  password_reset_requested: 'info',
  password_reset: 'info',
  email_verification_requested: 'info',
  email_verified: 'info',
  content_rejected: 'warning',
  passkey_added: 'info',
  passkey_removed: 'info',
  passkey_failure: 'warning',
  media_uploaded: 'info',
  invitation_accepted: 'info',
  invitation_rejected: 'warning',
  two_factor_enabled: 'info',
  two_factor_disabled: 'info',
  two_factor_failure: 'warning',
  recovery_code_used: 'info',
}
