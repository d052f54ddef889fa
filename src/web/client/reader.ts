import type { CsrfClient } from './csrf.ts'

/** Saves at most this often while the reader scrolls: when scrolling pauses. */
const SAVE_AFTER_SCROLL_PAUSE_MS = 400
/** Positions are fractions of the chapter; closer than this is the same place. */
const SAME_PLACE = 0.001

const clamp01 = (value: number) => Math.min(1, Math.max(0, value))

/**
 * The ebook reader remembers where one is (CONTRACT §6): the chapter's `<article data-reader>`
 * says which ebook and chapter it is and where the reader last was (`data-position`, 0..1). On
 * load the page scrolls there; as the reader scrolls, the place is saved with
 * PUT /api/ebooks/:slug/progress once scrolling pauses, and once more when the page is left,
 * whenever it is further into the chapter than the place kept.
 *
 * The position is how far through the chapter the viewport has travelled: 0 with the chapter's
 * start at the top of the screen, 1 with its end at the bottom. A fraction, so the place holds
 * on another screen size.
 */
export function enhanceReader(doc: Document, win: Window, csrf: CsrfClient): void {
  const article = doc.querySelector<HTMLElement>('article[data-reader]')
  if (!article) return
  const url = article.dataset.progressUrl
  const chapter = Number(article.dataset.chapter)
  if (!url || !Number.isInteger(chapter)) return

  // The saved place decides where the page opens, not the browser's memory of the last visit.
  if ('scrollRestoration' in win.history) win.history.scrollRestoration = 'manual'

  const travel = () => {
    const top = article.getBoundingClientRect().top + win.scrollY
    return { top, span: article.offsetHeight - win.innerHeight }
  }
  const positionNow = () => {
    const { top, span } = travel()
    return span <= 0 ? 1 : clamp01((win.scrollY - top) / span)
  }

  let lastSaved = clamp01(Number(article.dataset.position ?? 0) || 0)
  let userScrolled = false
  const restore = () => {
    if (userScrolled || lastSaved <= 0) return
    const { top, span } = travel()
    win.scrollTo(0, Math.round(top + lastSaved * Math.max(0, span)))
  }
  restore()
  // Images may still change the chapter's height: place the reader again once all has loaded.
  win.addEventListener('load', restore, { once: true })

  // The furthest point reached in the chapter is the place kept: scrolling back up to the
  // chapter's heading (or to re-read a paragraph) does not lose it.
  const save = (keepalive: boolean) => {
    const position = Math.round(positionNow() * 10_000) / 10_000
    if (position - lastSaved < SAME_PLACE) return
    lastSaved = position
    void csrf
      .fetch(url, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ chapter, position }),
        keepalive,
      })
      .then((res) => {
        article.dataset.saved = res.ok ? String(position) : 'failed'
      })
      .catch(() => {
        article.dataset.saved = 'failed'
      })
  }

  let timer: number | undefined
  const scrolled = () => {
    userScrolled = true
    win.clearTimeout(timer)
    timer = win.setTimeout(() => save(false), SAVE_AFTER_SCROLL_PAUSE_MS)
  }
  // The first scroll event may be our own restore; only a later one is the reader's.
  win.setTimeout(() => win.addEventListener('scroll', scrolled, { passive: true }), 0)

  const leaving = () => {
    win.clearTimeout(timer)
    if (userScrolled) save(true)
  }
  doc.addEventListener('visibilitychange', () => {
    if (doc.visibilityState === 'hidden') leaving()
  })
  win.addEventListener('pagehide', leaving)
}
