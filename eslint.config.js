// Lint catches bugs the type checker lets through; Prettier alone decides style, so no rule here
// is about layout or taste. Type-aware rules run on the TypeScript of tsconfig.json.
import tseslint from 'typescript-eslint'

const unusedVars = ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }]

export default tseslint.config(
  // Disable comments for rules this small set leaves off (no-explicit-any in migrations) are fine.
  { linterOptions: { reportUnusedDisableDirectives: 'off' } },
  { ignores: ['node_modules/', 'coverage/', 'data/', 'test-artifacts/'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A promise nobody awaits loses its rejection (and its order); `void` says it is meant.
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test() and describe() return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after'] },
          ],
        },
      ],
      // An async callback where a plain one is expected (an event listener, a forEach) is not awaited.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': unusedVars,
    },
  },
  {
    files: ['**/*.mjs', 'bin/lectern'],
    languageOptions: { sourceType: 'module', ecmaVersion: 'latest' },
    rules: { 'no-unused-vars': unusedVars },
  },
)
