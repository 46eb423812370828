/**
 * Three projects: `unit` (aws-sdk-client-mock, no network), `integration` (real SDK against moto)
 * and `package` (checks on the output of `serverless package`; run by scripts/check-package.sh).
 */
const common = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }],
  },
  // middy >= 5 ships ES modules only: let ts-jest compile it to CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  // …and its package exports only an `import` condition, which jest's CommonJS resolver skips.
  moduleNameMapper: { '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js' },
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/helpers/setup-unit.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/helpers/setup-integration.ts'],
      slowTestThreshold: 60,
    },
    {
      ...common,
      displayName: 'package',
      testMatch: ['<rootDir>/test/package/**/*.test.ts'],
    },
  ],
};
