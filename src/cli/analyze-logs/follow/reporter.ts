import { evaluateAlerts, type AlertThresholds } from '../alerts.ts'
import { renderJson, renderText } from '../report.ts'
import { AlertTransitions, alertLine, resolvedLine } from './alert-transitions.ts'
import type { RollingWindow } from './rolling-window.ts'

export interface FollowReporterOptions {
  window: RollingWindow
  thresholds: AlertThresholds
  json: boolean
  /** Reports, and in text mode the ALERT/RESOLVED lines. */
  out: (text: string) => void
  /** With --json, the ALERT/RESOLVED lines: standard output stays one JSON object per line for jq and log shippers. */
  err: (text: string) => void
}

/**
 * One report of the rolling window, as the batch analyzer prints it (text, or its JSON object
 * on one line), then a line for each alert that started or ended since the report before.
 */
export class FollowReporter {
  private readonly transitions = new AlertTransitions()
  private reports = 0
  private readonly options: FollowReporterOptions

  constructor(options: FollowReporterOptions) {
    this.options = options
  }

  report(nowMs: number): void {
    const { window: rolling, thresholds, json, out, err } = this.options
    const { summary, window } = rolling.summary(nowMs)
    const alerts = evaluateAlerts(summary, thresholds)
    const report = { summary, alerts, thresholds, window }
    if (json) out(renderJson(report))
    else {
      const note = summary.droppedForSpace
        ? '(the window held more lines than it has room for: the oldest were dropped, the figures cover the rest)\n'
        : ''
      out(`${this.reports > 0 ? '\n' : ''}${renderText(report)}${note}`)
    }
    this.reports++
    const changes = this.transitions.update(alerts)
    const lines = [...changes.started.map(alertLine), ...changes.resolved.map(resolvedLine)].join('')
    if (lines !== '') (json ? err : out)(lines)
  }
}
