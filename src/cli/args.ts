import { parseArgs, type ParseArgsConfig } from 'node:util'

/** The `options` of parseArgs: long name → type (and a short alias). */
export type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>

/** What is wrong with a command line, in terms each command words its own way. */
export type ArgsProblem =
  | { kind: 'unknown-option'; option: string }
  | { kind: 'missing-value'; option: string }
  | { kind: 'value-not-allowed'; option: string }
  | { kind: 'unexpected-argument'; argument: string }

/** The options given, typed by their declarations (none here is `multiple`). */
export type OptionValues<O extends ParseArgsOptionsConfig> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string
}

export type ParsedCommandLine<O extends ParseArgsOptionsConfig> =
  | { ok: true; values: OptionValues<O>; positionals: string[]; help: boolean }
  | { ok: false; problem: ArgsProblem; help: boolean }

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const

/**
 * argv → the declared options and the operands, by `node:util` parseArgs. Its own errors are
 * sentences naming its internals, so the tokens are checked first and a problem is returned as
 * data: each command keeps its usage messages. `--help`/`-h` is declared for every command and
 * reported even next to a mistake, so asking for help always gets it.
 */
export function parseCommandLine<const O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
  { allowPositionals = true }: { allowPositionals?: boolean } = {},
): ParsedCommandLine<O> {
  const declared: ParseArgsOptionsConfig = { ...options, ...HELP_OPTION }
  const { tokens, values, positionals } = parseArgs({
    args: [...argv],
    options: declared,
    allowPositionals: true,
    strict: false,
    tokens: true,
  })
  const help = values.help === true
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (!allowPositionals) return { ok: false, problem: { kind: 'unexpected-argument', argument: token.value }, help }
      continue
    }
    if (token.kind !== 'option') continue
    const config = declared[token.name]
    if (config === undefined) return { ok: false, problem: { kind: 'unknown-option', option: token.rawName }, help }
    if (config.type === 'boolean' && token.inlineValue) {
      return { ok: false, problem: { kind: 'value-not-allowed', option: token.rawName }, help }
    }
    // "--username --email a@b": the next option is not a value (a lone "-5" still is one).
    const missing = token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))
    if (config.type === 'string' && missing) {
      return { ok: false, problem: { kind: 'missing-value', option: token.rawName }, help }
    }
  }
  const { help: _help, ...given } = values
  // Every token was checked against its declaration above, so the values have the declared types.
  return { ok: true, values: given as OptionValues<O>, positionals, help }
}

/** The usual wording of a problem; commands whose tests fix another wording map it themselves. */
export function describeArgsProblem(problem: ArgsProblem): string {
  switch (problem.kind) {
    case 'unknown-option':
      return `unknown option "${problem.option}"`
    case 'missing-value':
      return `${problem.option} needs a value`
    case 'value-not-allowed':
      return `${problem.option} takes no value`
    case 'unexpected-argument':
      return `unexpected argument "${problem.argument}"`
  }
}
