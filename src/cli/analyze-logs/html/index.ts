import type { Report } from '../report.ts'
import type { LogStats } from '../stats.ts'
import type { TimelineEntry } from '../timeline.ts'
import { renderHtmlReport } from './report-page.ts'
import { writeFileAtomically } from './write-file.ts'

export { checkWritable } from './write-file.ts'

/** Bars in the latency histogram: enough to show its shape, few enough to read. */
const DISTRIBUTION_BINS = 40

/** `--html FILE`: the page of the report, written atomically. InputError when it cannot be written. */
export async function writeHtmlReport(
  path: string,
  report: Report & { timeline: { bucketMs: number; entries: TimelineEntry[] } },
  stats: LogStats,
  generatedAt: Date,
): Promise<void> {
  const page = renderHtmlReport({
    report,
    latencyDistribution: stats.latencyDistribution(DISTRIBUTION_BINS),
    generatedAt,
  })
  await writeFileAtomically(path, page)
}
