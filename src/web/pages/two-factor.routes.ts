import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { notFound, unauthorized } from '../../http/errors.ts'
import { adminAction } from '../../modules/admin/admin.routes.ts'
import { userIdParamsSchema, type UserIdParams } from '../../modules/admin/admin.schemas.ts'
import { USER_NOT_FOUND_MESSAGE } from '../../modules/admin/admin.service.ts'
import { WRONG_CURRENT_PASSWORD_MESSAGE, type AccountsService } from '../../modules/accounts/accounts.service.ts'
import { PASSWORD_CHECK_POLICIES } from '../../modules/accounts/accounts.routes.ts'
import type { CredentialsService } from '../../modules/accounts/credentials.service.ts'
import { presentUser } from '../../modules/accounts/user.presenter.ts'
import { qrCodeSvg } from '../../modules/two-factor/qr-code.ts'
import { codeBodySchema, currentPasswordBodySchema } from '../../modules/two-factor/two-factor.schemas.ts'
import { ACCOUNT_DISABLED_MESSAGE } from '../../modules/accounts/accounts.service.ts'
import { INVALID_CODE_MESSAGE, type TwoFactorService } from '../../modules/two-factor/two-factor.service.ts'
import { signedIn } from '../../security/authz.ts'
import type { createFormChecks } from '../form-validation.ts'
import { emptyForm, noteFormProblem, submitForm, type FormState } from '../forms.ts'
import { DEFAULT_AFTER_SIGN_IN, localPath } from '../local-path.ts'
import { seeOther, type Pages } from '../page.ts'

export interface TwoFactorPagesOptions {
  pages: Pages
  twoFactor: TwoFactorService
  accounts: Pick<AccountsService, 'findUser'>
  credentials: Pick<CredentialsService, 'confirmPassword'>
  forms: ReturnType<typeof createFormChecks>
}

/** Which of the section's forms a state belongs to. */
type TwoFactorFormAction = 'enable' | 'disable' | 'recovery-codes'

/** What the "Two-factor sign-in" section (views/partials/two-factor.eta) draws. */
export interface TwoFactorSectionView {
  enabled: boolean
  unusedCodes: number
  pending: { secret: string; qr: { sanitizedHtml: string } } | null
  /** Shown once, on the answer of the form that made them; never again. */
  recoveryCodes: string[] | null
  form: FormState
  formAction: TwoFactorFormAction | null
}

/** The section's state for an account, as /profile and the two-factor forms' answers show it. */
export function twoFactorSection(twoFactor: TwoFactorService) {
  return async (
    user: { id: number; username: string },
    shown: Partial<Pick<TwoFactorSectionView, 'recoveryCodes' | 'form' | 'formAction'>> = {},
  ): Promise<TwoFactorSectionView> => {
    const enabled = await twoFactor.totpEnabled(user.id)
    const setup = enabled ? null : await twoFactor.pendingSetup(user)
    return {
      enabled,
      unusedCodes: enabled ? await twoFactor.unusedRecoveryCodes(user.id) : 0,
      pending: setup && { secret: setup.secret, qr: await qrCodeSvg(setup.otpauthUrl) },
      recoveryCodes: shown.recoveryCodes ?? null,
      form: shown.form ?? emptyForm(),
      formAction: shown.formAction ?? null,
    }
  }
}

const CODE_FIELDS = ['code'] as const
const PASSWORD_FIELDS = ['current_password'] as const

/** `?next=` as given to the sign-in pages, when it is a path on this site. */
function nextOf(req: FastifyRequest): string | null {
  return localPath((req.query as Record<string, unknown> | null)?.next)
}

/**
 * The pages of two-factor sign-in (CONTRACT §11), forms that work without JavaScript over the
 * API's own service: the second step of signing in (/login/2fa), and the set-up, new recovery
 * codes and turning off (/profile/two-factor). The set-up pages stay open to an account that
 * REQUIRE_2FA_FOR sends there.
 */
export async function twoFactorPages(app: FastifyInstance, opts: TwoFactorPagesOptions) {
  const { pages, twoFactor, accounts, credentials } = opts
  const section = twoFactorSection(twoFactor)
  const checkCode = opts.forms.compile(codeBodySchema, { code: 'Enter the code.' })
  const checkPassword = opts.forms.compile(currentPasswordBodySchema, {
    current_password: 'Enter your current password.',
  })
  const setupAccess = { access: 'user', html: true, secondFactorSetup: true } as const

  async function sectionPage(
    req: FastifyRequest,
    reply: FastifyReply,
    shown: Parameters<ReturnType<typeof twoFactorSection>>[1] = {},
    status = 200,
  ) {
    const record = await accounts.findUser(signedIn(req).user.id)
    if (!record) throw unauthorized()
    const view = await section(record, shown)
    const user = presentUser(record, view.enabled)
    return pages.send(req, reply, 'two-factor', { user, twoFactor: view }, { title: 'Two-factor sign-in', status })
  }

  /** One field's problem in one of the section's forms. */
  const formProblem = (action: TwoFactorFormAction, field: string, message: string) => ({
    form: { values: {}, errors: { [field]: message }, formError: null },
    formAction: action,
  })

  app.get('/profile/two-factor', { config: setupAccess }, async (req, reply) => sectionPage(req, reply))

  app.post('/profile/two-factor/setup', { config: setupAccess }, async (req, reply) => {
    const result = await twoFactor.setup(signedIn(req).user.id)
    if (result.status === 'no_account') throw unauthorized()
    return seeOther(reply, '/profile/two-factor')
  })

  app.post(
    '/profile/two-factor/enable',
    {
      config: {
        ...setupAccess,
        redisplayForm: (req, reply, problem) =>
          sectionPage(
            req,
            reply,
            { formAction: 'enable', form: { ...emptyForm(), formError: problem.message } },
            problem.status,
          ),
      },
    },
    async (req, reply) =>
      submitForm(req, {
        fields: CODE_FIELDS,
        check: checkCode,
        invalidMessage: 'Invalid two-factor form',
        show: (form, status) => sectionPage(req, reply, { form, formAction: 'enable' }, status),
        async act({ code }) {
          const result = await twoFactor.enable(signedIn(req), code!, { via: 'form' })
          if (result.status === 'enabled') return sectionPage(req, reply, { recoveryCodes: result.recoveryCodes })
          if (result.status !== 'invalid_code') return seeOther(reply, '/profile/two-factor')
          noteFormProblem(req, INVALID_CODE_MESSAGE, 'HttpError')
          return sectionPage(req, reply, formProblem('enable', 'code', `${INVALID_CODE_MESSAGE}.`), 400)
        },
      }),
  )

  /** The two forms that need the password again, counted with the password change's attempts. */
  function reauthenticatedForm(
    path: string,
    action: TwoFactorFormAction,
    done: (req: FastifyRequest & { user: { id: number } }, reply: FastifyReply) => Promise<FastifyReply>,
  ) {
    app.post(
      path,
      {
        config: {
          ...setupAccess,
          rateLimit: PASSWORD_CHECK_POLICIES,
          redisplayForm: (req, reply, problem) =>
            sectionPage(
              req,
              reply,
              { formAction: action, form: { ...emptyForm(), formError: problem.message } },
              problem.status,
            ),
        },
      },
      async (req, reply) =>
        submitForm(req, {
          fields: PASSWORD_FIELDS,
          check: checkPassword,
          invalidMessage: 'Invalid two-factor form',
          onInvalid: () => req.refundRateLimits(), // no password was checked
          show: (form, status) => sectionPage(req, reply, { form, formAction: action }, status),
          async act({ current_password: password }) {
            const outcome = await credentials.confirmPassword(signedIn(req), password!, { via: 'form' })
            if (outcome === 'no_account') throw unauthorized()
            if (outcome === 'wrong_current_password') {
              noteFormProblem(req, WRONG_CURRENT_PASSWORD_MESSAGE, 'HttpError')
              const problem = formProblem(action, 'current_password', `${WRONG_CURRENT_PASSWORD_MESSAGE}.`)
              return sectionPage(req, reply, problem, 400)
            }
            return done(signedIn(req), reply)
          },
        }),
    )
  }

  reauthenticatedForm('/profile/two-factor/disable', 'disable', async (req, reply) => {
    await twoFactor.disable(req, { via: 'form' })
    return seeOther(reply, '/profile', 'two-factor-disabled')
  })

  reauthenticatedForm('/profile/two-factor/recovery-codes', 'recovery-codes', async (req, reply) => {
    const codes = await twoFactor.regenerateRecoveryCodes(req.user.id)
    if (codes === null) return seeOther(reply, '/profile/two-factor')
    return sectionPage(req, reply, { recoveryCodes: codes })
  })

  // The /admin row's button (views/partials/admin-second-factors.eta): the API's removal, as a form.
  app.post<{ Params: UserIdParams }>(
    '/admin/users/:id/2fa',
    { config: { access: 'admin', html: true }, schema: { params: userIdParamsSchema } },
    async (req, reply) => {
      const { id } = req.params
      if (!(await accounts.findUser(id))) throw notFound(USER_NOT_FOUND_MESSAGE)
      const { removed, signedOut } = await twoFactor.removeAllFactors(id)
      adminAction(req, 'remove_second_factors', id, { outcome: 'done', removed, signed_out: signedOut, via: 'page' })
      return seeOther(reply, '/admin', 'second-factors-removed')
    },
  )

  // The second step of signing in: the sign-in form sends here after a right password.
  const codePage = (req: FastifyRequest, reply: FastifyReply, form: FormState, status = 200) =>
    pages.send(
      req,
      reply,
      'login-code',
      // afterSignIn: where the passkey button's script goes once signed in (an account whose second factor is a passkey).
      { form, next: nextOf(req), afterSignIn: nextOf(req) ?? DEFAULT_AFTER_SIGN_IN },
      { title: 'Enter your code', status, forms: true },
    )

  app.get('/login/2fa', { config: { access: 'public', html: true } }, async (req, reply) => {
    if (req.user) return seeOther(reply, nextOf(req) ?? DEFAULT_AFTER_SIGN_IN)
    // Nothing to finish (never started, or more than five minutes ago): the password comes first.
    if (!(await twoFactor.awaitsCode(req))) {
      const next = nextOf(req)
      return seeOther(reply, next ? `/login?next=${encodeURIComponent(next)}` : '/login')
    }
    return codePage(req, reply, emptyForm())
  })

  app.post(
    '/login/2fa',
    {
      config: {
        access: 'public',
        html: true,
        redisplayForm: (req, reply, problem) =>
          codePage(req, reply, { ...emptyForm(), formError: problem.message }, problem.status),
      },
    },
    async (req, reply) =>
      submitForm(req, {
        fields: CODE_FIELDS,
        check: checkCode,
        invalidMessage: 'Invalid code form',
        kept: () => ({}), // a code is never shown again
        show: (form, status) => codePage(req, reply, form, status),
        async act({ code }) {
          const result = await twoFactor.signInWithCode(req, code!, { via: 'form' })
          if (result.status === 'signed_in') return seeOther(reply, nextOf(req) ?? DEFAULT_AFTER_SIGN_IN)
          const message = result.status === 'disabled' ? ACCOUNT_DISABLED_MESSAGE : INVALID_CODE_MESSAGE
          noteFormProblem(req, message, 'HttpError')
          const formError =
            result.status === 'disabled'
              ? 'This account is disabled.'
              : 'That code did not work. Codes are accepted once and within 5 minutes of your password: ' +
                'enter the current code, or start again.'
          return codePage(req, reply, { values: {}, errors: {}, formError }, result.status === 'disabled' ? 403 : 401)
        },
      }),
  )
}
