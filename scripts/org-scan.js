// serverless.yml asks this file two things about the Organization scan (Serverless v3 runs it as plain Node):
// - `enabled`: 'true' when param accounts scans beyond the account pitr-guard runs in. The schedule
//   then starts the state machine instead of invoking scheduledScan (stack parameter OrganizationScan).
// - `reportBucket`: the value of PITR_GUARD_REPORT_BUCKET. Param reportBucket defaults to the stack's
//   own bucket (`!Ref ReportBucket`); `serverless invoke local` has no stack to resolve that Ref
//   against, so there it is empty (no bucket: no S3 report) unless --param=reportBucket=NAME is given.
function isSingleAccount(accounts) {
  const text = String(accounts ?? 'self').trim().toLowerCase();
  return text === '' || text === 'self';
}

function isInvokeLocal(argv = process.argv) {
  const args = argv.slice(2).filter((a) => !a.startsWith('-'));
  return args[0] === 'invoke' && args[1] === 'local';
}

module.exports = async ({ resolveVariable }) => {
  const [accounts, reportBucket] = await Promise.all([resolveVariable('param:accounts'), resolveVariable('param:reportBucket')]);
  const named = typeof reportBucket === 'string' && reportBucket.trim() !== '';
  return {
    enabled: isSingleAccount(accounts) ? 'false' : 'true',
    reportBucket: named ? reportBucket.trim() : isInvokeLocal() ? '' : { Ref: 'ReportBucket' },
  };
};
module.exports.isInvokeLocal = isInvokeLocal;
