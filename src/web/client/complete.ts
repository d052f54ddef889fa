import type { CsrfClient } from './csrf.ts'

interface Progress {
  completed: number
  total: number
  percent: number
}

function lessonsWord(total: number): string {
  return total === 1 ? 'lesson' : 'lessons'
}

/**
 * "Mark as complete" without leaving the lesson: the form (`data-complete-url`, the API's
 * POST /api/courses/:slug/lessons/:n/complete) is sent with fetch, and the panel then says what
 * the page would have said after a reload, with the new progress, announced through its status
 * line. Should anything go wrong, the form is sent the ordinary way and the server answers.
 */
export function enhanceMarkComplete(doc: Document, csrf: CsrfClient): void {
  const form = doc.querySelector<HTMLFormElement>('form[data-complete-url]')
  const url = form?.dataset.completeUrl
  if (!form || !url) return
  const panel = form.closest<HTMLElement>('[data-completion]')
  const status = panel?.querySelector<HTMLElement>('[data-completion-status]')

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const button = form.querySelector<HTMLButtonElement>('button[type="submit"]')
    if (button) button.disabled = true
    void csrf
      .fetch(url, { method: 'POST', headers: { Accept: 'application/json' } })
      .then(async (res) => {
        if (!res.ok) throw new Error(`answered ${res.status}`)
        const { progress } = (await res.json()) as { progress: Progress }
        const done = doc.createElement('p')
        const badge = doc.createElement('span')
        badge.className = 'badge badge--done'
        badge.textContent = 'Completed'
        done.append(badge, ' You have completed this lesson.')
        form.replaceWith(done)
        const bar = panel?.querySelector<HTMLProgressElement>('progress')
        const label = bar?.id ? panel?.querySelector<HTMLElement>(`label[for="${bar.id}"]`) : null
        if (bar && label) {
          bar.max = progress.total || 1
          bar.value = progress.completed
          bar.textContent = `${progress.percent}%`
          label.textContent = `${progress.completed} of ${progress.total} ${lessonsWord(progress.total)} complete · ${progress.percent}%`
          bar.closest<HTMLElement>('[hidden]')?.removeAttribute('hidden')
        }
        if (status) status.textContent = 'Lesson marked as complete.'
      })
      .catch(() => {
        // The page's own way: a POST and a 303 back, which works whatever went wrong here.
        HTMLFormElement.prototype.submit.call(form)
      })
  })
}
