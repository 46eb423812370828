/**
 * Three projects: `unit` (aws-sdk-client-mock, no network), `integration` (real SDK against moto)
 * and `package` (checks on the output of `serverless package`; run by scripts/check-package.sh).
 */
const common = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }],
  },
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
