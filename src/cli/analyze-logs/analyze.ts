import type { LogInput } from './inputs.ts'
import { LogLineScanner } from './line-scanner.ts'
import { LineSplitter, MAX_LINE_BYTES } from './line-splitter.ts'
import { ParallelScan, type ParallelOptions } from './parallel/index.ts'
import type { Progress } from './progress.ts'
import { readInputChunks } from './read.ts'
import type { StatsConfig } from './stats-config.ts'
import type { LogStats } from './stats.ts'

// Where it was first defined; the line limit now lives with the splitter that enforces it.
export { MAX_LINE_BYTES } from './line-splitter.ts'

export interface AnalyzeDeps {
  stdin: NodeJS.ReadableStream
  progress: Progress
  /**
   * With these, large plain files are scanned by worker threads too (parallel/index.ts):
   * `config` is what `stats` was made from, for the workers to make theirs alike.
   */
  parallel?: { config: StatsConfig; options: ParallelOptions }
}

/** Reads every input in order, line by line, into `stats`. Throws InputError on unreadable input. */
export async function analyzeInputs(inputs: readonly LogInput[], stats: LogStats, deps: AnalyzeDeps): Promise<void> {
  const scanner = new LogLineScanner()
  let linesRead = 0
  let bytesRead = 0
  const splitter = new LineSplitter(
    {
      line(buf, start, end) {
        linesRead++
        stats.add(scanner.scan(buf, start, end))
      },
      overlongLine() {
        linesRead++
        stats.addSkipped()
      },
    },
    MAX_LINE_BYTES,
  )
  const parallel = deps.parallel === undefined ? null : new ParallelScan(deps.parallel.config, deps.parallel.options)
  try {
    for (const [index, input] of inputs.entries()) {
      const shown = { name: input.name, index, count: inputs.length }
      if (parallel !== null && input.kind === 'file') {
        const before = { bytes: bytesRead, lines: linesRead }
        const scanned = await parallel.scanFile(input.path, input.name, stats, (bytes, lines) =>
          deps.progress.update(shown, before.bytes + bytes, before.lines + lines),
        )
        if (scanned !== null) {
          bytesRead += scanned.bytes
          linesRead += scanned.lines
          continue
        }
      }
      for await (const chunk of readInputChunks(input, deps.stdin)) {
        splitter.push(chunk)
        bytesRead += chunk.length
        deps.progress.update(shown, bytesRead, linesRead)
      }
      // A file's last line ends with the file, newline or not.
      splitter.end()
    }
    await parallel?.finish(stats)
  } finally {
    await parallel?.close()
  }
  deps.progress.finish()
}
