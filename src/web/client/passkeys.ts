import { browserSupportsWebAuthn, startAuthentication, startRegistration } from '@simplewebauthn/browser'
import type { CsrfClient } from './csrf.ts'

/**
 * Passkeys in the browser (CONTRACT §11): "Add a passkey" on /profile and "Sign in with a passkey"
 * on /login. Both are WebAuthn ceremonies, which only a script can run: the server sends options,
 * the browser asks the authenticator (fingerprint, face, PIN), the answer goes back as JSON.
 * Without JavaScript the profile says so and the login page shows the password form alone; where
 * the browser has no WebAuthn, the same.
 */

/** What a refusal says to people: the API's message, or a sentence for the browser's own errors. */
async function problemOf(res: Response, fallback: string): Promise<string> {
  try {
    const body = (await res.json()) as { error?: unknown }
    return typeof body.error === 'string' ? `${body.error}.` : fallback
  } catch {
    return fallback
  }
}

/** The browser's refusal (cancelled, timed out, no authenticator) in words, without blaming anyone. */
function ceremonyProblem(error: unknown, what: string): string {
  if (error instanceof Error && error.name === 'NotAllowedError') return `${what} was cancelled or timed out.`
  if (error instanceof Error && error.name === 'InvalidStateError') return 'This device already holds a passkey here.'
  return `${what} did not work on this device.`
}

const postJson = (csrf: CsrfClient, url: string, body?: unknown) =>
  csrf.fetch(url, {
    method: 'POST',
    headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })

/** Only a path on this site, never `//elsewhere` or a URL: the server sends a checked one already. */
function localTarget(path: string | undefined): string {
  return path && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') ? path : '/'
}

/** One ceremony run from a button: options from the server, the browser's prompt, the answer back. */
interface Ceremony {
  button: HTMLButtonElement
  status: HTMLElement
  optionsUrl: string
  /** What the ceremony is, as the start of a sentence: "Adding the passkey". */
  what: string
  /** The browser's part: navigator.credentials.create() or .get() through @simplewebauthn/browser. */
  prompt(optionsJSON: never): Promise<unknown>
  /** Sends the answer; resolves to where to go next, or to null when the answer was refused. */
  answer(credential: unknown): Promise<string | null>
}

function runOnClick(ceremony: Ceremony, go: (url: string) => void, csrf: CsrfClient): void {
  const { button, status, what } = ceremony
  button.addEventListener('click', () => {
    button.disabled = true
    status.textContent = ''
    void (async () => {
      try {
        const optionsRes = await postJson(csrf, ceremony.optionsUrl)
        if (!optionsRes.ok) {
          status.textContent = await problemOf(optionsRes, `${what} could not be started. Please try again.`)
          return
        }
        let credential
        try {
          credential = await ceremony.prompt((await optionsRes.json()) as never)
        } catch (error) {
          status.textContent = ceremonyProblem(error, what)
          return
        }
        const next = await ceremony.answer(credential)
        if (next !== null) go(next)
      } catch {
        status.textContent = `${what} failed: the connection broke off. Please try again.`
      } finally {
        button.disabled = false
      }
    })()
  })
}

function enhanceAddPasskey(doc: Document, csrf: CsrfClient, go: (url: string) => void): void {
  const panel = doc.querySelector<HTMLElement>('[data-passkey-add]')
  const button = panel?.querySelector<HTMLButtonElement>('[data-passkey-add-button]')
  const status = doc.getElementById('passkey-add-status')
  const nameInput = doc.querySelector<HTMLInputElement>('#passkey-name')
  const needsJs = doc.querySelector<HTMLElement>('[data-passkey-needs-js]')
  if (!panel || !button || !status) return
  if (!browserSupportsWebAuthn()) {
    if (needsJs) needsJs.textContent = 'This browser cannot use passkeys. A recent browser can.'
    return
  }
  if (needsJs) needsJs.hidden = true
  panel.hidden = false
  runOnClick(
    {
      button,
      status,
      optionsUrl: '/api/passkeys/registration/options',
      what: 'Adding the passkey',
      prompt: (optionsJSON) => startRegistration({ optionsJSON }),
      async answer(credential) {
        const name = nameInput?.value.trim()
        const res = await postJson(csrf, '/api/passkeys', { credential, ...(name ? { name } : {}) })
        if (res.status === 201) return '/profile?notice=passkey-added'
        status.textContent = await problemOf(res, 'The passkey was not added. Please try again.')
        return null
      },
    },
    go,
    csrf,
  )
}

function enhancePasskeySignIn(doc: Document, csrf: CsrfClient, go: (url: string) => void): void {
  const panel = doc.querySelector<HTMLElement>('[data-passkey-sign-in]')
  const button = panel?.querySelector<HTMLButtonElement>('[data-passkey-sign-in-button]')
  const status = doc.getElementById('passkey-sign-in-status')
  if (!panel || !button || !status || !browserSupportsWebAuthn()) return
  panel.hidden = false
  runOnClick(
    {
      button,
      status,
      optionsUrl: '/api/login/passkey/options',
      what: 'Signing in with a passkey',
      prompt: (optionsJSON) => startAuthentication({ optionsJSON }),
      async answer(credential) {
        const res = await postJson(csrf, '/api/login/passkey', { credential })
        if (res.ok) return localTarget(panel.dataset.afterSignIn)
        status.textContent = await problemOf(res, 'That passkey did not sign you in. Please try again.')
        return null
      },
    },
    go,
    csrf,
  )
}

export function enhancePasskeys(doc: Document, csrf: CsrfClient, go: (url: string) => void): void {
  enhanceAddPasskey(doc, csrf, go)
  enhancePasskeySignIn(doc, csrf, go)
}
