/**
 * The avatar form shows the chosen picture before it is sent (an object URL: nothing leaves the
 * machine), and refuses a file over the upload limit at once, with the server's own words, rather
 * than after sending megabytes. The server checks everything again; this only saves a round trip.
 *
 *   <input type="file" data-avatar-input data-preview="avatar-preview" data-error="field-avatar-error"
 *          data-max-bytes="5242880" data-max-size="5 MB">
 */
export function enhanceAvatarPreview(
  doc: Document,
  urls: Pick<typeof URL, 'createObjectURL' | 'revokeObjectURL'>,
): void {
  const input = doc.querySelector<HTMLInputElement>('input[type="file"][data-avatar-input]')
  if (!input) return
  const preview = doc.getElementById(input.dataset.preview ?? '') as HTMLImageElement | null
  const error = doc.getElementById(input.dataset.error ?? '')
  const maxBytes = Number(input.dataset.maxBytes ?? 0)
  const tooLarge = `File too large. Choose a picture of at most ${input.dataset.maxSize ?? `${maxBytes} bytes`}.`
  let objectUrl: string | null = null

  const showError = (message: string) => {
    if (error) error.textContent = message
    input.setAttribute('aria-invalid', 'true')
  }
  const clearError = () => {
    if (error) error.textContent = ''
    input.removeAttribute('aria-invalid')
  }
  const clearPreview = () => {
    if (objectUrl) urls.revokeObjectURL(objectUrl)
    objectUrl = null
    if (preview) {
      preview.hidden = true
      preview.removeAttribute('src')
    }
  }

  input.addEventListener('change', () => {
    clearPreview()
    clearError()
    const file = input.files?.[0]
    if (!file) return
    if (maxBytes > 0 && file.size > maxBytes) {
      showError(tooLarge)
      return
    }
    if (preview) {
      objectUrl = urls.createObjectURL(file)
      preview.src = objectUrl
      preview.hidden = false
    }
  })

  input.form?.addEventListener('submit', (event) => {
    const file = input.files?.[0]
    if (file && maxBytes > 0 && file.size > maxBytes) {
      event.preventDefault()
      showError(tooLarge)
      input.focus()
    }
  })
}
