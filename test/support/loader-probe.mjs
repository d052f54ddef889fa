// Preloaded (NODE_OPTIONS=--import) into bin/lectern by test/cli/no-loader.test.ts. Records every
// module loader registered in the process (module.register, module.registerHooks) and, at exit,
// appends what the process ran with to the file named by LECTERN_LOADER_PROBE. Plain JavaScript:
// it must load before anything could strip types.
import module from 'node:module'
import { appendFileSync } from 'node:fs'

const reportFile = process.env.LECTERN_LOADER_PROBE
const hooks = []
for (const name of ['register', 'registerHooks']) {
  const original = module[name]
  if (typeof original !== 'function') continue
  module[name] = function recorded(...args) {
    hooks.push(`${name}(${typeof args[0] === 'object' ? Object.keys(args[0] ?? {}).join(',') : String(args[0])})`)
    return original.apply(this, args)
  }
}
// `import { register } from 'node:module'` sees the replacement too.
module.syncBuiltinESMExports()

process.on('exit', () => {
  const report = { execArgv: process.execArgv, typescript: process.features.typescript, hooks }
  if (reportFile) appendFileSync(reportFile, `${JSON.stringify(report)}\n`)
})
