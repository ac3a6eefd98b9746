// ESLint for the whole repo (`npm run lint`, run by .ci/run): typescript-eslint's type-aware recommended rules on src, test
// and bench, ESLint's recommended rules on the JavaScript files, every eslint-disable with its reason, and eslint-config-prettier
// last so that layout is Prettier's alone.
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', '.data/', 'coverage/', 'test/**/fixtures/', 'bench/results/']),
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  comments.recommended,
  // Every eslint-disable says why, after `--`.
  { rules: { '@eslint-community/eslint-comments/require-description': ['error', { ignore: ['eslint-enable'] }] } },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // One program for src, test and bench: tsconfig.test.json is the one the type check in .ci/run uses.
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The code reads an index as possibly undefined and asserts (`!`, `as T`) where it knows better, as the compiler's
      // noUncheckedIndexedAccess would require (most of the code already passes it); this rule would strip those assertions.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Express 4 route handlers here are async functions that catch their own errors and hand them to next(); the rule
      // cannot tell those from a forgotten promise. Promises returned where a void is expected elsewhere are still checked.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      // `async` marks functions that implement a Promise-returning interface (ltijs's database plugin, Kysely's
      // MigrationProvider, stand-in fetchers in tests) so that a throw inside becomes a rejection, with or without an await.
      '@typescript-eslint/require-await': 'off',
      // Query strings are built as `${path}?${new URLSearchParams(...)}`. The rule's default allows the DOM's URL and
      // URLSearchParams, which print as text; these are Node's (module 'url'), which print the same.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allow: [
            { from: 'lib', name: ['Error', 'URL', 'URLSearchParams'] },
            { from: 'package', package: 'url', name: ['URL', 'URLSearchParams'] },
          ],
        },
      ],
      // A leading underscore marks a parameter kept for its position (Express knows an error handler by its four
      // parameters) or a property destructured away.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read HTTP and JSON answers as `any` (JSON.parse, expect.any) and assert on their shape; the assertions are
    // the check, so typing every body first would add nothing.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Node CommonJS: jest's config, the jest reporter and the pretest script.
    files: ['**/*.js'],
    ignores: ['views/assets/**'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
  },
  {
    // Served to the browser as a classic script, written as ES5 (a catch clause must name its error there).
    files: ['views/assets/**/*.js'],
    languageOptions: { sourceType: 'script', ecmaVersion: 5, globals: globals.browser },
    rules: { 'no-unused-vars': ['error', { caughtErrors: 'none' }] },
  },
  { files: ['eslint.config.mjs'], languageOptions: { globals: globals.node } },
  prettier,
);
