import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020
const schemaPath = new URL('../../docs/log-schema.json', import.meta.url)

export const logSchema = JSON.parse(readFileSync(schemaPath, 'utf8')) as { properties: { event: { enum: string[] } } }

const validate = addFormats(new Ajv2020({ allErrors: true, strict: false })).compile(logSchema)

/** null when the line obeys docs/log-schema.json, else a description of what is wrong. */
export function logLineProblem(line: string): string | null {
  let record: unknown
  try {
    record = JSON.parse(line)
  } catch {
    return `not JSON: ${line.slice(0, 200)}`
  }
  if (validate(record)) return null
  return `${JSON.stringify(validate.errors)} in ${line.slice(0, 500)}`
}
