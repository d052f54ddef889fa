import type { LogInput } from './inputs.ts'
import { LogLineScanner } from './line-scanner.ts'
import { LineSplitter } from './line-splitter.ts'
import type { Progress } from './progress.ts'
import { readInputChunks } from './read.ts'
import type { LogStats } from './stats.ts'

/** Longer lines are skipped: no log line of Lectern's comes near, and it bounds the carry buffer. */
export const MAX_LINE_BYTES = 1024 * 1024

export interface AnalyzeDeps {
  stdin: NodeJS.ReadableStream
  progress: Progress
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
  for (const [index, input] of inputs.entries()) {
    for await (const chunk of readInputChunks(input, deps.stdin)) {
      splitter.push(chunk)
      bytesRead += chunk.length
      deps.progress.update({ name: input.name, index, count: inputs.length }, bytesRead, linesRead)
    }
    // A file's last line ends with the file, newline or not.
    splitter.end()
  }
  deps.progress.finish()
}
