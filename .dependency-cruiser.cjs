/**
 * The layer rules (docs/architecture.md), checked by `npm run lint` (npm test):
 * `depcruise --config .dependency-cruiser.cjs functions lib dev scripts`. Type-only imports count too.
 */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'lib/core (types, evaluate, decide, ids, text, config) imports no AWS SDK and no other lib/ layer.',
      severity: 'error',
      from: { path: '^lib/core/' },
      to: { pathNot: '^lib/core/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'report-not-cli',
      comment: 'Reports are rendered the same for every caller: lib/report imports nothing from lib/cli.',
      severity: 'error',
      from: { path: '^lib/report/' },
      to: { path: '^lib/cli/' },
    },
    {
      name: 'notify-not-events',
      comment: 'Notifiers render findings, not raw events: lib/notify imports nothing from lib/events.',
      severity: 'error',
      from: { path: '^lib/notify/' },
      to: { path: '^lib/events/' },
    },
    {
      name: 'lambda-not-dev-or-test',
      comment: 'Nothing a Lambda bundle contains reaches the demo, the local emulator or test tooling.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^(dev|test)/', reachable: true },
    },
    {
      name: 'lib-not-test-or-scripts',
      comment: 'lib/ is the product: it imports nothing from test/ or scripts/.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(test|scripts)/' },
    },
    {
      name: 'only-cli-reaches-dev',
      comment: 'Only the CLI (its demo command) may load dev/ tooling; no other lib/ layer does.',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/cli/' },
      to: { path: '^dev/' },
    },
    {
      name: 'dev-not-test',
      comment: 'dev/ (demo, local emulator, seeder, webhook sink) is used by tests, never the other way round.',
      severity: 'error',
      from: { path: '^dev/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
