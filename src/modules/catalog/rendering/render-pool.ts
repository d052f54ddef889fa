import { Worker } from 'node:worker_threads'

/**
 * Renders Markdown in one worker thread, one document at a time, each under a time budget
 * (docs/adr/0016). markdown-it and htmlparser2 are superlinear on some inputs (deeply nested
 * raw HTML, runs of `![`), and even linear work on the largest body takes seconds: on the event
 * loop that would stall every request of the process. Here a render that overruns its budget
 * is stopped by terminating the worker, and refused; the next render starts a fresh worker.
 */
export interface RenderPool {
  /** Sanitized HTML, or ContentTooComplexError when the render overran its budget or memory. */
  render(markdown: string): Promise<string>
  /** The same render, with what the sanitizer removed (markdown.ts reviewMarkdown). */
  review(markdown: string): Promise<{ html: string; removed: string[] }>
  /** Stops the worker; renders still queued are refused with an error. */
  close(): Promise<void>
}

/** A document whose render does not fit the budget. Its message is for the operator. */
export class ContentTooComplexError extends Error {
  readonly reason: 'time' | 'memory'
  readonly budgetMs: number

  constructor(reason: 'time' | 'memory', budgetMs: number) {
    super(reason === 'time' ? `render took longer than ${budgetMs} ms` : 'render ran out of memory')
    this.name = 'ContentTooComplexError'
    this.reason = reason
    this.budgetMs = budgetMs
  }
}

/** Heap for one render; the largest body's tokens and HTML take a few tens of megabytes. */
const WORKER_HEAP_MB = 256

// Node strips the worker's types as it does the rest (it inherits the process's flags: docs/adr/0014).
const WORKER_URL = new URL('./render-worker.ts', import.meta.url)

interface Job {
  markdown: string
  review: boolean
  resolve(result: Rendered): void
  reject(error: Error): void
}

interface Rendered {
  html: string
  removed?: string[]
}

type WorkerMessage = { ready: true } | Rendered | { error: string }

export function createRenderPool(opts: { budgetMs: number }): RenderPool {
  const queue: Job[] = []
  let worker: Worker | null = null
  let ready = false
  let current: Job | null = null
  let budgetTimer: NodeJS.Timeout | undefined
  let closed = false

  function finish(outcome: Rendered | { error: Error }) {
    clearTimeout(budgetTimer)
    const job = current
    current = null
    if (job) {
      if ('html' in outcome) job.resolve(outcome)
      else job.reject(outcome.error)
    }
    next()
  }

  /** Drops the worker (it is terminated or gone); the next job starts another. */
  function discard(stopped: Worker) {
    if (worker !== stopped) return
    worker = null
    ready = false
    void stopped.terminate()
  }

  function start() {
    const started = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    })
    worker = started
    ready = false
    started.on('message', (message: WorkerMessage) => {
      if (worker !== started) return
      if ('ready' in message) {
        ready = true
        next()
      } else if ('html' in message) finish(message)
      else finish({ error: new Error(`render failed: ${message.error}`) })
    })
    started.on('error', (error: Error & { code?: string }) => {
      if (worker !== started) return
      discard(started)
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY')
        return finish({ error: new ContentTooComplexError('memory', opts.budgetMs) })
      if (current) return finish({ error })
      // The worker could not start: the jobs waiting for it would wait forever.
      for (const job of queue.splice(0)) job.reject(error)
    })
    started.on('exit', () => {
      if (worker !== started) return
      discard(started)
      if (current) finish({ error: new Error('render worker exited') })
    })
  }

  function next() {
    if (current || closed) return
    if (queue.length === 0) {
      // An idle worker does not keep a command's process alive.
      worker?.unref()
      return
    }
    if (!worker) start()
    worker!.ref()
    if (!ready) return // `ready` calls next() again
    const job = queue.shift()!
    current = job
    const running = worker!
    // Wall time, not the injected clock: this bounds how long a thread computes, not a business rule.
    budgetTimer = setTimeout(() => {
      if (current !== job) return
      discard(running)
      finish({ error: new ContentTooComplexError('time', opts.budgetMs) })
    }, opts.budgetMs)
    running.postMessage(job.review ? { review: job.markdown } : job.markdown)
  }

  function enqueue(markdown: string, review: boolean): Promise<Rendered> {
    if (closed) return Promise.reject(new Error('the renderer is closed'))
    return new Promise<Rendered>((resolve, reject) => {
      queue.push({ markdown, review, resolve, reject })
      next()
    })
  }

  return {
    render: async (markdown) => (await enqueue(markdown, false)).html,
    review: async (markdown) => {
      const { html, removed } = await enqueue(markdown, true)
      return { html, removed: removed ?? [] }
    },

    async close() {
      closed = true
      clearTimeout(budgetTimer)
      const stopping = worker
      worker = null
      const waiting = current ? [current, ...queue.splice(0)] : queue.splice(0)
      current = null
      for (const job of waiting) job.reject(new Error('the renderer is closed'))
      await stopping?.terminate()
    },
  }
}
