/** The CDK app (`cdk.json`: `npx tsx infra/app.ts`). Operator settings: infra/settings.ts and the README. */
import { App } from 'aws-cdk-lib';
import { addGovernor } from './governor.ts';

addGovernor(new App());
