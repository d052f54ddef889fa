export {
  csrfGuard,
  csrfCheckedParts,
  verifyCsrfFormToken,
  CSRF_FORM_FIELD,
  CSRF_HEADER,
  CSRF_HEADER_ALIAS,
  CSRF_MESSAGES,
  FORM_BODY_LIMIT_BYTES,
  type CsrfGuardOptions,
  type MultipartPartLike,
} from './guard.ts'
export { createCsrfTokens, CSRF_TOKEN_LENGTH, CSRF_TOKEN_PATTERN, type CsrfTokens, type CsrfVerdict } from './token.ts'
export { checkCrossSite, fromOwnPages, ownOrigin } from './origin.ts'
