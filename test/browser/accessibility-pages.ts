/**
 * Every page the accessibility run visits (test/browser/accessibility.test.ts), as whom, and the
 * status it answers with. One list: a new page is added here, one line, and is checked from then
 * on. `:learner`, `:admin`, … in a path stand for that person's user id.
 */
export type Persona = 'visitor' | 'learner' | 'instructor' | 'admin'

export interface AccessiblePage {
  path: string
  as: Persona
  /** 200 unless said otherwise. */
  status?: number
}

export const ACCESSIBLE_PAGES: AccessiblePage[] = [
  // Signed out
  { path: '/', as: 'visitor' },
  { path: '/login', as: 'visitor' },
  { path: '/register', as: 'visitor' },
  { path: '/forgot-password', as: 'visitor' },
  { path: '/reset-password/not-a-real-token-but-a-page-all-the-same', as: 'visitor' },
  { path: '/verify-email/not-a-real-token-but-a-page-all-the-same', as: 'visitor' },
  { path: '/courses/web-fundamentals', as: 'visitor' },
  { path: '/ebooks/http-in-brief', as: 'visitor' },
  { path: '/ebooks/http-in-brief/chapters/2', as: 'visitor' },
  { path: '/no/such/page', as: 'visitor', status: 404 },
  { path: '/invite/not-a-real-token-but-a-page-all-the-same', as: 'visitor', status: 404 },
  { path: '/certificates/not-a-real-certificate-id-at-all', as: 'visitor', status: 404 },
  // A learner
  { path: '/', as: 'learner' },
  { path: '/me', as: 'learner' },
  { path: '/profile', as: 'learner' },
  { path: '/courses/web-fundamentals', as: 'learner' },
  { path: '/courses/web-fundamentals/lessons/1', as: 'learner' },
  { path: '/courses/web-fundamentals/lessons/2', as: 'learner' },
  { path: '/courses/web-fundamentals/lessons/6', as: 'learner' },
  { path: '/profile/two-factor', as: 'learner' },
  { path: '/ebooks/http-in-brief/chapters/1', as: 'learner' },
  { path: '/ebooks/http-in-brief/chapters/2', as: 'learner' },
  { path: '/admin', as: 'learner', status: 403 },
  // An instructor
  { path: '/admin', as: 'instructor' },
  { path: '/admin/courses/new', as: 'instructor' },
  { path: '/admin/ebooks/new', as: 'instructor' },
  { path: '/admin/courses/web-fundamentals', as: 'instructor' },
  { path: '/admin/courses/web-fundamentals/parts/2', as: 'instructor' },
  { path: '/admin/ebooks/http-in-brief', as: 'instructor' },
  { path: '/admin/ebooks/http-in-brief/parts/1', as: 'instructor' },
  { path: '/admin/courses/web-fundamentals/parts/2/delete', as: 'instructor' },
  { path: '/admin/media', as: 'instructor' },
  { path: '/courses/web-fundamentals/learners', as: 'instructor' },
  // An admin
  { path: '/admin', as: 'admin' },
  { path: '/admin/audit', as: 'admin' },
  { path: '/admin/readiness', as: 'admin' },
  { path: '/courses/web-fundamentals/learners', as: 'admin' },
  { path: '/admin/users/:learner/delete', as: 'admin' },
  { path: '/profile', as: 'admin' },
  { path: '/me', as: 'admin' },
  { path: '/test/broken-page', as: 'admin', status: 500 },
]
