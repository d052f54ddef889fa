import type { Clock } from '../lib/clock.ts'
import type { PolicyName } from '../security/rate-limit/policies.ts'

/** Which limit stopped a form, and why it exists, in words for the person who met it. */
const WHY: Partial<Record<PolicyName, string>> = {
  login:
    'Too many failed sign-in attempts came from your network. To protect the accounts here from ' +
    'password guessing, signing in from this address is paused',
  login_user:
    'There were too many failed sign-in attempts for this username. To protect the account from ' +
    'password guessing, signing in to it is paused',
  register:
    'Too many registration attempts came from your network. To stop accounts being created in bulk, ' +
    'registering from this address is paused',
}
const GENERIC = 'Too many attempts came from your network, so this form is paused'

/** `14:05 UTC`: the server cannot know the reader's time zone, so it says which one it uses. */
function utcTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 16)} UTC`
}

/**
 * The sentence a rate-limited form shows: which limit, why, for how many minutes and until when.
 * `retryAfterSeconds` is the Retry-After the answer carries.
 */
export function rateLimitExplanation(policy: PolicyName | null, retryAfterSeconds: number, clock: Clock): string {
  const seconds = Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0 ? retryAfterSeconds : 60
  const minutes = Math.ceil(seconds / 60)
  const until = utcTime(clock.now() + seconds * 1000)
  const why = (policy !== null && WHY[policy]) || GENERIC
  return `${why}. Please try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}, at ${until}.`
}

/**
 * Said after a failed sign-in once few attempts remain before the address is paused (the
 * RateLimit-Remaining figure); null while more remain.
 */
export function attemptsLeftWarning(remaining: number | undefined): string | null {
  if (remaining === undefined || remaining > 2) return null
  if (remaining === 0)
    return 'That was the last attempt for now: the next one from your network will be refused for a while.'
  return `${remaining} ${remaining === 1 ? 'attempt remains' : 'attempts remain'} before signing in from your network is paused for a while.`
}
