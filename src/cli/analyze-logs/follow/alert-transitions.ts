import type { Alert } from '../alerts.ts'

export interface AlertChanges {
  started: Alert[]
  resolved: Alert['name'][]
}

/**
 * Which alerts started and which ended since the last report: a firing alert is announced once,
 * when it starts, and once more when it ends, however many reports it lasts.
 */
export class AlertTransitions {
  private readonly firing = new Set<Alert['name']>()

  update(alerts: readonly Alert[]): AlertChanges {
    const now = new Set(alerts.map((alert) => alert.name))
    const started = alerts.filter((alert) => !this.firing.has(alert.name))
    const resolved = [...this.firing].filter((name) => !now.has(name))
    this.firing.clear()
    for (const name of now) this.firing.add(name)
    return { started, resolved }
  }
}

/** `ALERT error_rate 0.25 > 0.01`: the figure and the threshold as the JSON has them, to 6 significant digits. */
export function alertLine(alert: Alert): string {
  return `ALERT ${alert.name} ${compact(alert.value)} > ${compact(alert.threshold)}\n`
}

export function resolvedLine(name: Alert['name']): string {
  return `RESOLVED ${name}\n`
}

function compact(value: number): string {
  return String(Number(value.toPrecision(6)))
}
