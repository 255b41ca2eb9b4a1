/**
 * Builds the Governor app in memory for the infra tests, and reads its templates in terms a reader
 * recognises: a resource is named by its construct path (`Table`, `Delivery/DispatchLogs`), not its
 * logical id, and a function's permissions are the statements of every policy attached to its role.
 */
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addGovernor, type GovernorOptions } from '../../infra/governor.ts';
import { type GovernorSettingsInput, settingsSchema } from '../../infra/settings.ts';

export interface BuildOptions extends Omit<GovernorOptions, 'settings'> {
  settings?: GovernorSettingsInput;
  /** Run esbuild for every function (slow); by default the templates are built without bundling. */
  bundle?: boolean;
  /** Run CDK's built-in CloudFormation template validation (slow: ~10 s); off by default. */
  cfnValidation?: boolean;
  outdir?: string;
}

export function buildGovernor(options: BuildOptions = {}) {
  const { settings, bundle, cfnValidation, outdir, ...rest } = options;
  const app = new App({
    ...(outdir ? { outdir } : {}),
    builtinCloudFormationValidation: cfnValidation === true,
    // The CLI's own switch (`cdk synth --exclusively` uses it): no stack is bundled, assets get a
    // placeholder. The templates are otherwise identical.
    context: bundle ? {} : { 'aws:cdk:bundling-stacks': [] },
  });
  const stacks = addGovernor(app, { ...rest, settings: settingsSchema.parse(settings ?? {}) });
  return { app, ...stacks };
}

export type Built = ReturnType<typeof buildGovernor>;

/** logical id → construct path relative to its stack, for every CloudFormation resource of the app. */
export function resourceNames(app: App): Map<string, string> {
  const names = new Map<string, string>();
  for (const construct of app.node.findAll()) {
    if (!(construct instanceof CfnResource)) continue;
    const stack = Stack.of(construct);
    const logicalId = stack.resolve(construct.logicalId) as string;
    const path = construct.node.path
      .slice(stack.node.path.length + 1)
      .replace(/\/Resource$/, '')
      .replace(/\/Default$/, '');
    names.set(logicalId, path);
  }
  return names;
}

/** A resource reference as text: `Table`, `Table/index/due`, `*`. */
export function label(value: unknown, names: Map<string, string>): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Ref' in v) return names.get(String(v.Ref)) ?? String(v.Ref);
  if ('Fn::GetAtt' in v) {
    const [id] = v['Fn::GetAtt'] as [string, string];
    return names.get(id) ?? id;
  }
  if ('Fn::ImportValue' in v) {
    const exported = String(v['Fn::ImportValue']);
    const match = [...names]
      .filter(([id]) => exported.includes(id))
      .sort((a, b) => b[0].length - a[0].length)[0];
    return match ? match[1] : exported;
  }
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => label(part, names)).join(separator);
  }
  return JSON.stringify(value);
}

export interface Statement {
  actions: string[];
  resources: string[];
  /** The statement's Condition, as written; absent when it has none. */
  conditions?: Record<string, unknown>;
}

const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every statement of every IAM policy attached to the role of the function `name` (a construct path). */
export function statementsOf(template: Template, names: Map<string, string>, name: string): Statement[] {
  const functions = template.findResources('AWS::Lambda::Function');
  const fnId = [...names].find(([id, path]) => path === name && id in functions)?.[0];
  if (!fnId) throw new Error(`no function ${name}`);
  const role = functions[fnId]?.Properties.Role as { 'Fn::GetAtt': [string] } | undefined;
  const roleId = role?.['Fn::GetAtt'][0];
  if (!roleId) throw new Error(`${name} has no role`);
  const statements: Statement[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = asList(policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
    if (!roles.includes(roleId)) continue;
    for (const s of policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]) {
      if (s.Effect !== 'Allow') throw new Error(`unexpected statement ${JSON.stringify(s)}`);
      statements.push({
        actions: asList(s.Action as string | string[]).sort(),
        resources: asList(s.Resource)
          .map((r) => label(r, names))
          .sort(),
        ...(s.Condition !== undefined ? { conditions: s.Condition as Record<string, unknown> } : {}),
      });
    }
  }
  const roleResource = template.findResources('AWS::IAM::Role')[roleId];
  if (roleResource?.Properties.ManagedPolicyArns || roleResource?.Properties.Policies) {
    throw new Error(`${name}'s role has managed or inline policies besides its attached ones`);
  }
  return statements.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Statement builders for the expectations. */
export const allow = (actions: readonly string[], ...resources: string[]): Statement => ({
  actions: [...actions].sort(),
  resources: resources.sort(),
});

/** A statement that holds only under `conditions`. */
export const allowWhen = (
  conditions: Record<string, unknown>,
  actions: readonly string[],
  ...resources: string[]
): Statement => ({ ...allow(actions, ...resources), conditions });

export { Template };
