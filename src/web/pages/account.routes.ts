import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { securityEvent } from '../../http/request-context.ts'
import { EMAIL_NOT_VERIFIED_MESSAGE } from '../../modules/accounts/email-verification.service.ts'
import {
  EMAIL_MAX_LENGTH,
  loginBodySchema,
  registerBodySchema,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
} from '../../modules/accounts/accounts.schemas.ts'
import { ACCOUNT_DISABLED_MESSAGE, INVALID_CREDENTIALS_MESSAGE } from '../../modules/accounts/accounts.service.ts'
import { REGISTRATION_REFUSALS, type CredentialsService } from '../../modules/accounts/credentials.service.ts'
import type { RegistrationMode } from '../../config/index.ts'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../security/passwords.ts'
import type { createFormChecks } from '../form-validation.ts'
import { emptyForm, formValues, noteFormProblem, submitForm, type FormState } from '../forms.ts'
import { DEFAULT_AFTER_SIGN_IN, localPath } from '../local-path.ts'
import { seeOther, type Pages } from '../page.ts'
import { attemptsLeftWarning } from '../rate-limit-explanation.ts'

export interface AccountPagesOptions {
  pages: Pages
  credentials: CredentialsService
  forms: ReturnType<typeof createFormChecks>
  /** REGISTRATION: without `open`, /register explains how accounts are made instead of a form. */
  registration: RegistrationMode
  /** SUPPORT_CONTACT, named to a person whose account is disabled; null: not set. */
  supportContact: string | null
}

const LOGIN_FIELDS = ['username', 'password'] as const
const REGISTER_FIELDS = ['username', 'email', 'password'] as const

/** Shown under the fields before anything is typed (the invitation form shares them). */
export const REGISTER_HINTS = {
  username: `${USERNAME_MIN_LENGTH} to ${USERNAME_MAX_LENGTH} characters: letters, digits, dots, dashes or underscores.`,
  password: `At least ${MIN_PASSWORD_LENGTH} characters. A few unrelated words make a strong one.`,
}
/** Shown next to a field the schema refused. */
export const REGISTER_ERRORS = {
  username: `Choose a username of ${USERNAME_MIN_LENGTH} to ${USERNAME_MAX_LENGTH} letters, digits, dots, dashes or underscores.`,
  email: 'Enter a valid email address, like ada@example.com.',
  password: `Choose a password of at least ${MIN_PASSWORD_LENGTH} characters (at most ${MAX_PASSWORD_LENGTH}).`,
}
const LOGIN_LABELS = { username: 'Username', password: 'Password' }
const REGISTER_LABELS = { username: 'Username', email: 'Email address', password: 'Password' }
const LOGIN_ERRORS = { username: 'Enter your username.', password: 'Enter your password.' }

/** What the sign-in form says when the credentials service refuses: the API's message, in words for people. */
const SIGN_IN_REFUSALS = {
  invalid_credentials: {
    message: INVALID_CREDENTIALS_MESSAGE,
    formError: `${INVALID_CREDENTIALS_MESSAGE}.`,
    status: 401,
  },
  disabled: { message: ACCOUNT_DISABLED_MESSAGE, formError: 'This account is disabled.', status: 403 },
  email_not_verified: {
    message: EMAIL_NOT_VERIFIED_MESSAGE,
    formError:
      'Your email address is not verified yet. We have sent a new link to it: open it, confirm, then sign in. ' +
      'It can take a few minutes to arrive.',
    status: 403,
  },
} as const

/** `?next=` as given to the sign-in and registration pages, when it is a path on this site. */
function nextOf(req: FastifyRequest): string | null {
  return localPath((req.query as Record<string, unknown> | null)?.next)
}

/** What the forms show again: everything typed except the password. */
function keptValues(req: FastifyRequest, fields: readonly string[]): Record<string, string> {
  const values = formValues(req.body, fields)
  delete values.password
  return values
}

/**
 * Sign-in, registration and sign-out for people (CONTRACT §6): the same accounts service, rate
 * limits and security events as /api/login and /api/register, as HTML forms that work without
 * JavaScript: success is a 303 to `next` (or the dashboard); a problem shows the form again, with
 * the message next to its field and what was typed (never the password).
 */
export async function accountPages(app: FastifyInstance, opts: AccountPagesOptions) {
  const { pages, credentials } = opts
  const checkLogin = opts.forms.compile(loginBodySchema, LOGIN_ERRORS)
  const checkRegister = opts.forms.compile(registerBodySchema, REGISTER_ERRORS)
  const registerLimits = {
    usernameMin: USERNAME_MIN_LENGTH,
    usernameMax: USERNAME_MAX_LENGTH,
    emailMax: EMAIL_MAX_LENGTH,
    passwordMin: MIN_PASSWORD_LENGTH,
    passwordMax: MAX_PASSWORD_LENGTH,
  }

  const loginPage = (req: FastifyRequest, reply: FastifyReply, form: FormState, status = 200) =>
    pages.send(
      req,
      reply,
      'login',
      // afterSignIn: where the passkey button's script goes once signed in, as the form would.
      { form, next: nextOf(req), afterSignIn: nextOf(req) ?? DEFAULT_AFTER_SIGN_IN, labels: LOGIN_LABELS },
      { title: 'Sign in', status, forms: true },
    )
  const registerPage = (req: FastifyRequest, reply: FastifyReply, form: FormState, status = 200) =>
    pages.send(
      req,
      reply,
      'register',
      {
        form,
        next: nextOf(req),
        hints: REGISTER_HINTS,
        limits: registerLimits,
        labels: REGISTER_LABELS,
        mode: opts.registration,
        refusal: opts.registration === 'open' ? null : REGISTRATION_REFUSALS[opts.registration],
      },
      { title: 'Create an account', status, forms: opts.registration === 'open' },
    )

  app.get('/login', { config: { access: 'public', html: true } }, async (req, reply) => {
    if (req.user) return seeOther(reply, nextOf(req) ?? DEFAULT_AFTER_SIGN_IN)
    return loginPage(req, reply, emptyForm())
  })

  app.post(
    '/login',
    {
      config: {
        access: 'public',
        html: true,
        // The same policy as POST /api/login, counted together: a form is no way around the limit.
        rateLimit: 'login',
        keepFormWhenLimited: true,
        redisplayForm: (req, reply, problem) =>
          loginPage(
            req,
            reply,
            { ...emptyForm(keptValues(req, LOGIN_FIELDS)), formError: problem.message },
            problem.status,
          ),
      },
    },
    async (req, reply) =>
      submitForm(req, {
        fields: LOGIN_FIELDS,
        check: checkLogin,
        invalidMessage: 'Invalid login form',
        show: (form, status) => loginPage(req, reply, form, status),
        async act({ username, password }) {
          const result = await credentials.signIn(req, username!, password!, { via: 'form' })
          if (result.status === 'signed_in') return seeOther(reply, nextOf(req) ?? DEFAULT_AFTER_SIGN_IN)
          if (result.status === 'two_factor_required') {
            // The password was right; the code form comes next (pages/two-factor.routes.ts).
            const next = nextOf(req)
            return seeOther(reply, next ? `/login/2fa?next=${encodeURIComponent(next)}` : '/login/2fa')
          }
          const { message, formError, status } = SIGN_IN_REFUSALS[result.status]
          noteFormProblem(req, message, 'HttpError')
          // Once two or fewer attempts remain before the address is paused, the person is told; someone
          // shut out of their account learns whom to ask, when the operator said.
          const warning =
            result.status === 'invalid_credentials' ? attemptsLeftWarning(req.rateLimitDecision?.remaining) : null
          const support =
            result.status === 'disabled' && opts.supportContact !== null
              ? `To have it enabled again, contact ${opts.supportContact}.`
              : null
          const shown = [formError, warning, support].filter((part) => part !== null).join(' ')
          return loginPage(req, reply, { values: keptValues(req, LOGIN_FIELDS), errors: {}, formError: shown }, status)
        },
      }),
  )

  app.get('/register', { config: { access: 'public', html: true } }, async (req, reply) => {
    if (req.user) return seeOther(reply, nextOf(req) ?? DEFAULT_AFTER_SIGN_IN)
    return registerPage(req, reply, emptyForm())
  })

  app.post(
    '/register',
    {
      config: {
        access: 'public',
        html: true,
        rateLimit: 'register',
        keepFormWhenLimited: true,
        redisplayForm: (req, reply, problem) =>
          registerPage(
            req,
            reply,
            { ...emptyForm(keptValues(req, REGISTER_FIELDS)), formError: problem.message },
            problem.status,
          ),
      },
    },
    async (req, reply) =>
      submitForm(req, {
        fields: REGISTER_FIELDS,
        check: checkRegister,
        invalidMessage: 'Invalid registration form',
        show: (form, status) => registerPage(req, reply, form, status),
        async act(values) {
          const { signedIn } = await credentials.register(
            req,
            values as { username: string; email: string; password: string },
            { via: 'form' },
          )
          // Sign-in waits for the address to be verified (REQUIRE_EMAIL_VERIFICATION).
          if (!signedIn) return seeOther(reply, '/login', 'check-email')
          const next = nextOf(req)
          return next ? seeOther(reply, next) : seeOther(reply, DEFAULT_AFTER_SIGN_IN, 'welcome')
        },
      }),
  )

  app.post('/logout', { config: { access: 'public', html: true, secondFactorSetup: true } }, async (req, reply) => {
    const signedIn = req.user !== null
    if (req.session.id !== null) await req.session.signOut()
    if (signedIn) securityEvent(req, 'logout', { via: 'form' })
    return seeOther(reply, '/', signedIn ? 'signed-out' : undefined)
  })
}
