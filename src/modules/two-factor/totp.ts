import { isIP } from 'node:net'
import { generate, generateSecret, generateURI, verify } from 'otplib'

/**
 * TOTP as CONTRACT §11 fixes it: RFC 6238 with HMAC-SHA-1, 6 digits, 30-second steps, which
 * every authenticator app reads from an otpauth:// link without further parameters.
 */
export const TOTP_DIGITS = 6
export const TOTP_PERIOD_SECONDS = 30
/** One step either way: a phone's clock a little off, or a code typed as it turned over. */
export const TOTP_DRIFT_STEPS = 1

/** 160 bits, the HMAC-SHA-1 block's natural key size (RFC 4226 §4 recommends it). */
const SECRET_BYTES = 20
const CODE_PATTERN = new RegExp(`^\\d{${TOTP_DIGITS}}$`)

/** A fresh secret, base32 as authenticator apps take it. */
export function newTotpSecret(): string {
  return generateSecret({ length: SECRET_BYTES })
}

/** The RFC 6238 time step of an instant: which 30-second window it falls in. */
export function timeStepAt(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS)
}

/** The code of `secret` at an instant of the injected clock (tests and the set-up's own checks). */
export function totpCodeAt(secret: string | Uint8Array, nowMs: number, digits: 6 | 8 = TOTP_DIGITS): Promise<string> {
  return generate({ secret, digits, period: TOTP_PERIOD_SECONDS, epoch: Math.floor(nowMs / 1000) })
}

/**
 * The time step a code belongs to, when it is the secret's code within one step of `nowMs`, else
 * null. Codes of `afterStep` or earlier are refused (a code is accepted once); the caller records
 * the step it returns, atomically, before treating the code as spent. The time is the injected
 * clock's, never the process's.
 */
export async function matchTotpCode(
  secret: string,
  code: string,
  nowMs: number,
  afterStep: number | null = null,
): Promise<number | null> {
  // otplib throws on a malformed token; anything but 6 digits is simply not a code.
  if (!CODE_PATTERN.test(code)) return null
  const result = await verify({
    secret,
    token: code,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: TOTP_DRIFT_STEPS * TOTP_PERIOD_SECONDS,
    ...(afterStep === null ? {} : { afterTimeStep: afterStep }),
  })
  // The functional API's result type covers HOTP too; a TOTP result carries its time step.
  return result.valid && 'timeStep' in result ? result.timeStep : null
}

/**
 * The name an authenticator app shows for the account: the site's host name when PUBLIC_URL names
 * one, else "Lectern" (an address or localhost says nothing to a person looking at their phone).
 */
export function totpIssuer(publicUrl: string): string {
  const { hostname } = new URL(publicUrl)
  const bare = hostname.replace(/^\[|\]$/g, '')
  if (bare === 'localhost' || isIP(bare) !== 0) return 'Lectern'
  return bare
}

/** The otpauth:// link (and QR code) an authenticator app is set up from. */
export function totpUri(opts: { issuer: string; username: string; secret: string }): string {
  return generateURI({
    issuer: opts.issuer,
    label: opts.username,
    secret: opts.secret,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  })
}
