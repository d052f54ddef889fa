import { lowerKey } from '../accounts/accounts.repository.ts'

export interface InvitedAddress {
  /** As given, trimmed and in Unicode NFC: the account gets this address. */
  email: string
  /** How addresses are compared, as the accounts compare them. */
  lower: string
}

/**
 * The addresses of one invitation request, each once: `Bob@X.org` and `bob@x.org` are one address
 * (the accounts compare addresses without case), invited under the spelling seen first.
 */
export function distinctAddresses(emails: readonly string[]): InvitedAddress[] {
  const seen = new Map<string, InvitedAddress>()
  for (const given of emails) {
    const email = given.normalize('NFC').trim()
    if (email === '') continue
    const lower = lowerKey(email)
    if (!seen.has(lower)) seen.set(lower, { email, lower })
  }
  return [...seen.values()]
}

/** A list pasted into the admin page: one address a line, or separated by commas, semicolons or spaces. */
export function splitPastedAddresses(text: string): string[] {
  return text.split(/[\s,;]+/u).filter((part) => part !== '')
}
