/**
 * The custom AWS Config rule (Owner CUSTOM_LAMBDA, scope AWS::DynamoDB::Table): evaluates the table
 * in a change notification (plain or oversized), or every table of the rule's Region on the
 * periodic trigger, and reports the result with PutEvaluations. Logic: lib/jobs/config-rule.ts.
 */
import { lambdaHandler } from '../lib/runtime/handler';
import type { Context } from 'aws-lambda';
import { Clients } from '../lib/aws/clients';
import { functionRegionFromEnv, policyFromEnv } from '../lib/core/config';
import { createLogger } from '../lib/runtime/logger';
import { accountFromContext, depsOf, injectDeps, logErrors, type ContextWithDeps } from '../lib/runtime/middleware';
import { handleConfigInvocation, type ConfigRuleDeps, type ConfigRuleResult } from '../lib/jobs/config-rule';

export type { ConfigRuleDeps, ConfigRuleResult };

export function run(event: unknown, deps: ConfigRuleDeps): Promise<ConfigRuleResult> {
  return handleConfigInvocation(event, deps);
}

export function buildDeps(context: Context): ConfigRuleDeps {
  const logger = createLogger({ base: { function: 'configRule' } });
  // The rule's Region: where its tables are read and its evaluations reported (Lambda sets it).
  const homeRegion = functionRegionFromEnv();
  return {
    policy: policyFromEnv(),
    clients: new Clients(),
    logger,
    homeRegion,
    accountId: accountFromContext(context),
  };
}

const fallbackLogger = createLogger({ base: { function: 'configRule' } });

export const handler = lambdaHandler<unknown, ConfigRuleResult, ContextWithDeps<ConfigRuleDeps>>()
  .use(logErrors(() => fallbackLogger))
  .use(injectDeps(buildDeps))
  .handler((event, context) => run(event, depsOf(context)));
