import { Ajv, type ErrorObject } from 'ajv'
import addFormatsModule from 'ajv-formats'

// ajv-formats is CommonJS with a default export; under NodeNext its default is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

/** Checks a form's fields; returns field → message for every field in error (empty when all is well). */
export type FormCheck = (values: object) => Record<string, string>

function fieldOf(issue: ErrorObject): string {
  if (issue.keyword === 'required') return String(issue.params.missingProperty)
  return issue.instancePath.replace(/^\//, '').split('/')[0] ?? ''
}

/**
 * Form checks built from the API's own body schemas (the accounts module's register, login,
 * profile and password schemas): a form and its JSON twin accept exactly the same input, and
 * the rules live in one place. Unlike the API, which stops at the first problem, a form reports
 * every field in error at once, each with the words `messages` gives for it.
 */
export function createFormChecks() {
  // Same settings as the API's body validator (http/validation.ts): no coercion, no defaults
  // invented, but every error, since each one is shown next to its own field.
  const ajv = addFormats(new Ajv({ allErrors: true, coerceTypes: false, removeAdditional: false, strict: false }))
  return {
    compile(schema: object, messages: Readonly<Record<string, string>>): FormCheck {
      const validate = ajv.compile(schema)
      return (values) => {
        if (validate(values)) return {}
        const errors: Record<string, string> = {}
        for (const issue of validate.errors ?? []) {
          const field = fieldOf(issue)
          if (errors[field] === undefined) errors[field] = messages[field] ?? 'Please check this field.'
        }
        return errors
      }
    },
  }
}
