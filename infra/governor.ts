/**
 * The Governor deployment: the stateful stack, the stateless stack that uses it, and cdk-nag's AWS
 * Solutions checks over both (synth fails on any finding not acknowledged with a reason). app.ts runs it
 * for the CLI; the infra tests build the same thing in memory.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  authorizer,
  type DeliveryEntries,
  delivery,
  dryRunWorker,
  type HttpFunctionSpec,
  httpFunctions,
  providerFeedback,
} from './routes.ts';
import { type GovernorSettings, settingsFrom } from './settings.ts';
import { StatefulStack } from './stacks/stateful-stack.ts';
import { StatelessStack } from './stacks/stateless-stack.ts';

export interface GovernorOptions {
  /** @default read from the app's context */
  readonly settings?: GovernorSettings;
  /** @default infra/routes.ts */
  readonly httpFunctions?: readonly HttpFunctionSpec[];
  /** @default infra/routes.ts; undefined: no delivery pipeline */
  readonly delivery?: DeliveryEntries | undefined;
  /** @default infra/routes.ts; undefined: each function checks API keys itself */
  readonly authorizer?: string | undefined;
  /** @default infra/routes.ts; undefined: no dry-run state machine */
  readonly dryRunWorker?: string | undefined;
  /** @default infra/routes.ts; undefined: provider events are not wired */
  readonly providerFeedback?: string | undefined;
}

/** How the stateless stack references the stateful one; an operator may override it in cdk.json. */
const CROSS_STACK_REFERENCES = '@aws-cdk/core:defaultCrossStackReferences';

export function addGovernor(app: App, options: GovernorOptions = {}) {
  const settings = options.settings ?? settingsFrom(app.node);
  // Strong (CloudFormation exports): the table and queues cannot be removed or replaced while the
  // functions still use them, which is the point of keeping them in a stack of their own.
  if (app.node.tryGetContext(CROSS_STACK_REFERENCES) === undefined)
    app.node.setContext(CROSS_STACK_REFERENCES, 'strong');
  // Account and region come from the CLI's credentials at deploy; unset (environment-agnostic) offline.
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const stateful = new StatefulStack(app, 'GovernorStateful', {
    env,
    description: 'Governor: table, delivery queue and DLQ, secrets, decision archive (retained)',
    archiveDays: settings.archiveDays,
    ...(settings.webhookUrl ? { webhookUrl: settings.webhookUrl } : {}),
  });
  const stateless = new StatelessStack(app, 'GovernorStateless', {
    env,
    description: 'Governor: functions, HTTP API, delivery pipeline, alarms and dashboard',
    state: stateful,
    settings,
    httpFunctions: options.httpFunctions ?? httpFunctions,
    delivery: 'delivery' in options ? options.delivery : delivery,
    authorizer: 'authorizer' in options ? options.authorizer : authorizer,
    dryRunWorker: 'dryRunWorker' in options ? options.dryRunWorker : dryRunWorker,
    providerFeedback: 'providerFeedback' in options ? options.providerFeedback : providerFeedback,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stateful, stateless };
}
