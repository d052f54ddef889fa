import type { Config, Limit } from '../../config/index.ts'

/**
 * Policies a route can declare, counted in onRequest before the body is read:
 * `config: { rateLimit: 'login' }`, or several (`['password_check', 'password_check_ip']`).
 */
export const ROUTE_POLICIES = [
  'login',
  'register',
  'avatar',
  'media',
  'password_check',
  'password_check_ip',
  'password_reset',
] as const
export type RoutePolicyName = (typeof ROUTE_POLICIES)[number]

/**
 * Policies that count wrong passwords, not requests: a body refused by its schema (a new password
 * of 7 characters) checked no password, so its reservation is given back. The login policy is not
 * one of them: the contract counts a malformed login as a failure.
 */
export const PASSWORD_CHECKS_ONLY: ReadonlySet<RoutePolicyName> = new Set(['password_check', 'password_check_ip'])

/**
 * Policies counted by a service once the body says what the request is: failed logins per
 * attempted username, changes of email address (a PATCH that changes only a bio is not one), and
 * quiz attempts per learner and lesson (value `USER_ID:LESSON_ID`); wrong two-factor codes per account
 * (the account is known only from the session's pending sign-in).
 */
export const SERVICE_POLICIES = ['login_user', 'email_change', 'email_change_ip', 'quiz', 'two_factor'] as const
export type ServicePolicyName = (typeof SERVICE_POLICIES)[number]

export type PolicyName = RoutePolicyName | ServicePolicyName
export const POLICY_NAMES: readonly PolicyName[] = [...ROUTE_POLICIES, ...SERVICE_POLICIES]

/** What a counter is counted per: a client address (IPv6 per /64), a signed-in user, an attempted username. */
export type KeyKind = 'ip' | 'user' | 'username'

export const POLICY_KEY_KIND: Readonly<Record<PolicyName, KeyKind>> = {
  login: 'ip',
  register: 'ip',
  avatar: 'user',
  media: 'user',
  password_check: 'user',
  password_check_ip: 'ip',
  password_reset: 'ip',
  login_user: 'username',
  email_change: 'user',
  email_change_ip: 'ip',
  quiz: 'user',
  two_factor: 'user',
}

export function policyLimits(config: Config): Readonly<Record<PolicyName, Limit>> {
  const {
    login,
    loginUser,
    register,
    avatar,
    passwordCheck,
    passwordCheckIp,
    emailChange,
    emailChangeIp,
    passwordReset,
    quiz,
    twoFactor,
  } = config.rateLimits
  return {
    login,
    register,
    avatar,
    // Lesson media are limited like avatars (RATE_LIMIT_AVATAR), on a counter of their own.
    media: avatar,
    password_check: passwordCheck,
    password_check_ip: passwordCheckIp,
    password_reset: passwordReset,
    login_user: loginUser,
    email_change: emailChange,
    email_change_ip: emailChangeIp,
    quiz,
    two_factor: twoFactor,
  }
}

export function isPolicyName(name: string): name is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(name)
}

/**
 * A counter's public name, shown by `lectern rate-limits list` and the admin API and accepted
 * by `clear`: `POLICY:KIND:VALUE`, e.g. `login:ip:203.0.113.7`, `register:ip:2001:db8::/64`,
 * `avatar:user:42`, `login_user:username:<keyed hash>`.
 */
export function counterKey(policy: PolicyName, value: string): string {
  return `${policy}:${POLICY_KEY_KIND[policy]}:${value}`
}

/** The policy of a counter key, or null when the key names none. */
export function policyOfKey(key: string): PolicyName | null {
  const policy = key.slice(0, key.indexOf(':'))
  if (!isPolicyName(policy) || !key.startsWith(`${policy}:${POLICY_KEY_KIND[policy]}:`)) return null
  return policy
}

/** Whole seconds until `ms` milliseconds have passed, never 0 while any time is left. */
export function secondsFromMs(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000))
}
