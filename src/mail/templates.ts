/**
 * Every email Lectern sends, in one place: plain text, each a function of typed data. Links are
 * built here from PUBLIC_URL and a token, so no caller can put a request's Host header, or any
 * other address, into a message.
 */

/** What every template knows about the site: its address, from PUBLIC_URL only. */
export interface Site {
  /** PUBLIC_URL without a trailing slash. */
  readonly url: string
  /** Its host (and port), as people see it in their address bar. */
  readonly host: string
}

export function siteFrom(publicUrl: string): Site {
  return { url: publicUrl, host: new URL(publicUrl).host }
}

export interface MailContent {
  subject: string
  text: string
}

/** The data each template needs; its key is the template's name (`extra.kind` in the logs). */
export interface TemplateData {
  password_reset: { username: string; token: string; expiresAt: number }
  password_changed: { username: string; changedAt: number }
  email_verification: { username: string; token: string; expiresAt: number }
  /** Sent to the old address, so an owner whose account was taken over hears of it. */
  email_changed: { username: string; changedAt: number }
  /** An account made for its owner by an admin (import-users): the link sets its first password. */
  account_created: { username: string; token: string; expiresAt: number }
  invitation: { token: string; expiresAt: number; role: 'learner' | 'instructor'; courseTitle: string | null }
  /** A passkey signs in on its own: an owner whose session was borrowed hears of one added. */
  passkey_added: { username: string; addedAt: number }
  /** Two-factor sign-in turned on: a borrowed session's own authenticator would lock the owner out. */
  two_factor_enabled: { username: string; changedAt: number }
  /** Two-factor sign-in turned off (by the owner, or an admin's removal for a lost phone). */
  two_factor_disabled: { username: string; changedAt: number }
}

export type MailKind = keyof TemplateData

const link = (site: Site, path: string, token: string) => `${site.url}/${path}/${encodeURIComponent(token)}`

/** The link of a password-reset token, as the email carries it (and the admin API hands it over). */
export const passwordResetUrl = (site: Site, token: string) => link(site, 'reset-password', token)

/** The link of an invitation, as the email carries it (and the admin API hands it over). */
export const invitationUrl = (site: Site, token: string) => link(site, 'invite', token)

/** `2026-01-15 12:30 UTC`: unambiguous wherever the reader is. */
function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

const signature = (site: Site) => `-- \nLectern at ${site.url}\n`

const TEMPLATES: { [K in MailKind]: (site: Site, data: TemplateData[K]) => MailContent } = {
  password_reset: (site, { username, token, expiresAt }) => ({
    subject: `Reset your password on ${site.host}`,
    text: [
      `Hello ${username},`,
      '',
      `Someone, hopefully you, asked to reset the password of your account on ${site.host}.`,
      'To choose a new password, open this link:',
      '',
      passwordResetUrl(site, token),
      '',
      `The link works once, until ${utc(expiresAt)}.`,
      'If you did not ask for it, ignore this email: your password stays as it is.',
      '',
      signature(site),
    ].join('\n'),
  }),
  password_changed: (site, { username, changedAt }) => ({
    subject: `Your password on ${site.host} was changed`,
    text: [
      `Hello ${username},`,
      '',
      `The password of your account on ${site.host} was changed at ${utc(changedAt)}.`,
      'Every session of the account was signed out.',
      '',
      `If this was not you, reset your password now at ${site.url}/forgot-password`,
      'and tell an administrator of the site.',
      '',
      signature(site),
    ].join('\n'),
  }),
  email_verification: (site, { username, token, expiresAt }) => ({
    subject: `Confirm your email address on ${site.host}`,
    text: [
      `Hello ${username},`,
      '',
      `To confirm that this address belongs to your account on ${site.host}, open this link:`,
      '',
      link(site, 'verify-email', token),
      '',
      `The link works until ${utc(expiresAt)}.`,
      'If you have no account there, ignore this email.',
      '',
      signature(site),
    ].join('\n'),
  }),
  passkey_added: (site, { username, addedAt }) => ({
    subject: `A passkey was added to your account on ${site.host}`,
    text: [
      `Hello ${username},`,
      '',
      `At ${utc(addedAt)} a passkey was added to your account on ${site.host}.`,
      'It signs in to the account without the password.',
      '',
      'If this was not you, remove it now on your profile page, change your password there,',
      'and tell an administrator of the site:',
      '',
      `${site.url}/profile`,
      '',
      signature(site),
    ].join('\n'),
  }),
  two_factor_enabled: (site, { username, changedAt }) => ({
    subject: `Two-factor sign-in was turned on for your account on ${site.host}`,
    text: [
      `Hello ${username},`,
      '',
      `At ${utc(changedAt)} two-factor sign-in was turned on for your account on ${site.host}:`,
      'signing in now asks for a code from an authenticator app after the password.',
      '',
      'If this was not you, tell an administrator of the site now: whoever has that',
      'authenticator can keep you out of your account. Then change your password at',
      '',
      `${site.url}/profile`,
      '',
      signature(site),
    ].join('\n'),
  }),
  two_factor_disabled: (site, { username, changedAt }) => ({
    subject: `Two-factor sign-in was turned off for your account on ${site.host}`,
    text: [
      `Hello ${username},`,
      '',
      `At ${utc(changedAt)} two-factor sign-in was turned off for your account on ${site.host}:`,
      'the password alone now signs in.',
      '',
      'If this was not you, change your password and turn two-factor sign-in on again at',
      '',
      `${site.url}/profile`,
      '',
      'and tell an administrator of the site.',
      '',
      signature(site),
    ].join('\n'),
  }),
  email_changed: (site, { username, changedAt }) => ({
    subject: `The email address of your account on ${site.host} was changed`,
    text: [
      `Hello ${username},`,
      '',
      `At ${utc(changedAt)} the email address of your account on ${site.host} was changed,`,
      'and this address no longer receives its emails.',
      '',
      'If this was not you, tell an administrator of the site now.',
      '',
      signature(site),
    ].join('\n'),
  }),
  account_created: (site, { username, token, expiresAt }) => ({
    subject: `Your account on ${site.host}`,
    text: [
      'Hello,',
      '',
      `An administrator of ${site.host} created an account for you, with the username ${username}.`,
      'To choose your password and sign in, open this link:',
      '',
      passwordResetUrl(site, token),
      '',
      `The link works once, until ${utc(expiresAt)}. After that, ask for a new one at`,
      `${site.url}/forgot-password`,
      '',
      signature(site),
    ].join('\n'),
  }),
  invitation: (site, { token, expiresAt, role, courseTitle }) => ({
    subject: `You are invited to ${site.host}`,
    text: [
      'Hello,',
      '',
      `You are invited to create an account on ${site.host} as ${role === 'instructor' ? 'an instructor' : 'a learner'}` +
        (courseTitle === null ? '.' : `, enrolled in "${courseTitle}".`),
      'To accept, open this link and choose a username and a password:',
      '',
      invitationUrl(site, token),
      '',
      `The invitation works once, until ${utc(expiresAt)}.`,
      '',
      signature(site),
    ].join('\n'),
  }),
}

export function renderMail<K extends MailKind>(site: Site, kind: K, data: TemplateData[K]): MailContent {
  return TEMPLATES[kind](site, data)
}
