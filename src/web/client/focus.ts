/**
 * A form shown again with problems puts the keyboard focus on its error summary
 * (`[data-focus-on-load]`), so it is the first thing read out and Tab leads on to the fields.
 */
export function focusErrorSummary(doc: Document): void {
  const summary = doc.querySelector<HTMLElement>('[data-focus-on-load]')
  summary?.focus()
}
