import type { LogSummary } from './stats.ts'

export interface Alert {
  name: 'error_rate' | 'p95_latency_ms'
  value: number
  threshold: number
}

export interface AlertThresholds {
  errorRate: number
  p95Ms: number
}

/** An alert fires when its figure is strictly above the threshold; with no request, none can fire. */
export function evaluateAlerts(summary: LogSummary, thresholds: AlertThresholds): Alert[] {
  const alerts: Alert[] = []
  if (summary.totalRequests > 0 && summary.errorRate > thresholds.errorRate) {
    alerts.push({ name: 'error_rate', value: summary.errorRate, threshold: thresholds.errorRate })
  }
  if (summary.latencyMs !== null && summary.latencyMs.p95 > thresholds.p95Ms) {
    alerts.push({ name: 'p95_latency_ms', value: summary.latencyMs.p95, threshold: thresholds.p95Ms })
  }
  return alerts
}
