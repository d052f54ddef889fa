import { enhanceAvatarPreview } from './avatar-preview.ts'
import { enhanceMarkComplete } from './complete.ts'
import { createCsrfClient, keepFormsFresh } from './csrf.ts'
import { focusErrorSummary } from './focus.ts'
import { enhancePasskeys } from './passkeys.ts'
import { enhanceReader } from './reader.ts'

// One small bundle for every page (src/web/assets.ts); each enhancement looks for its own
// elements and does nothing where they are absent. Module scripts run once the document is
// parsed. Every page works without this file: it only makes things smoother.
const csrf = createCsrfClient(document, (url, init) => window.fetch(url, init))
keepFormsFresh(document, csrf)
focusErrorSummary(document)
enhanceReader(document, window, csrf)
enhanceAvatarPreview(document, URL)
enhanceMarkComplete(document, csrf)
enhancePasskeys(document, csrf, (url) => window.location.assign(url))
