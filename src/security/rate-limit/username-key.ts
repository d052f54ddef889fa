import { createKeyedHasher } from '../keyed-hash.ts'

const LABEL = 'lectern/rate-limit-username/v1'

/**
 * The counter value for an attempted username: a keyed hash of its lower-cased form. Keyed, so
 * the counters (in Redis, in the block list, in logs) never reveal which usernames are being
 * tried, and nobody without the secret can tell which counter is whose by hashing guesses.
 */
export function createUsernameKeyer(sessionSecret: string): (username: string) => string {
  const hash = createKeyedHasher(sessionSecret, LABEL)
  return (username) => hash(username.toLowerCase())
}
