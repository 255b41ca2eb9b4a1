import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BuildOptions, buildGovernor } from './support.ts';

interface Violation {
  ruleName: string;
  severity: string;
  violatingConstructs: { constructPath: string }[];
}
interface Report {
  pluginReports: { pluginName: string; violations: Violation[] }[];
}
interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

/** Everything deployable: every function, the authorizer, CORS, and the ses and sns providers. */
const everything: BuildOptions = {
  settings: {
    providers: 'email=ses,sms=sns',
    sesFrom: 'Brand <news@mail.example.com>',
    sesConfigurationSet: 'governor',
    allowedOrigins: 'https://prefs.example.com',
    alarmEmail: 'oncall@example.com',
  },
};
/** SMS through End User Messaging SMS, whose configuration set publishes to the provider events' topic. */
const smsVoice: BuildOptions = {
  settings: {
    providers: 'email=ses,sms=sms-voice',
    sesFrom: 'Brand <news@mail.example.com>',
    smsOriginationIdentity: 'arn:aws:sms-voice:eu-west-1:123456789012:pool/pool-0123456789abcdef',
  },
};
/** A deployment whose functions check API keys themselves. */
const withoutAuthorizer: BuildOptions = { authorizer: undefined };

const dirs: string[] = [];

/** Synthesizes with cdk-nag's AwsSolutions checks (added by addGovernor); returns the error, if any, and the report. */
function synthesize(options: BuildOptions) {
  const outdir = mkdtempSync(join(tmpdir(), 'governor-nag-'));
  dirs.push(outdir);
  const { app } = buildGovernor({ ...options, outdir });
  let error: unknown;
  try {
    app.synth();
  } catch (caught) {
    error = caught;
  }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as Report;
  return { app, error, report };
}

function acknowledgements(app: App): Acknowledgement[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

const findings = (report: Report) =>
  report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => ({ ...v, path: c.constructPath }))),
  );

let full: ReturnType<typeof synthesize>;
let bare: ReturnType<typeof synthesize>;

beforeAll(() => {
  full = synthesize(everything);
  bare = synthesize(withoutAuthorizer);
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("cdk-nag's AWS Solutions checks", () => {
  it('find nothing unacknowledged in either stack, with or without the authorizer', () => {
    expect(full.error).toBeUndefined();
    expect(bare.error).toBeUndefined();
    expect(findings(full.report)).toEqual([]);
    expect(findings(bare.report)).toEqual([]);
  });

  it('find nothing unacknowledged when SMS goes through End User Messaging SMS', () => {
    const synthesized = synthesize(smsVoice);
    expect(synthesized.error).toBeUndefined();
    expect(findings(synthesized.report)).toEqual([]);
  });

  it('are acknowledged, finding by finding, with a reason a reviewer can check', () => {
    const all = [...acknowledgements(full.app), ...acknowledgements(bare.app)];
    const kinds = [...new Set(all.map((a) => a.id))].sort();

    expect(kinds).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5[Resource::*]',
      // Firehose's PutObject on the two prefixes it writes, of the archive bucket alone.
      'AwsSolutions-IAM5[Resource::<ArchiveBucket49F1AC64.Arn>/archive-errors/*]',
      'AwsSolutions-IAM5[Resource::<ArchiveBucket49F1AC64.Arn>/archive/*]',
      // The dry-run state machine: its worker's versions, its map's executions and map runs.
      'AwsSolutions-IAM5[Resource::<DryRunMachineWorkerF8F59094.Arn>:*]',
      'AwsSolutions-IAM5[Resource::GovernorStateful:ExportsOutputFnGetAttArchiveBucket49F1AC64Arn3FBD647E/archive/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"DryRunMachineStateMachine368AD96B"}]}]}/*:*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"DryRunMachineStateMachine368AD96B"}]}]}:*]',
      'AwsSolutions-L1',
      'AwsSolutions-SMG4',
    ]);
    for (const { path, id, reason } of all) {
      expect(reason.length, `${id} on ${path}`).toBeGreaterThanOrEqual(80);
    }
  });

  it('are acknowledged only where a finding would otherwise be reported', () => {
    for (const [synthesized, options] of [
      [full, everything],
      [bare, withoutAuthorizer],
    ] as const) {
      const acknowledged = acknowledgements(synthesized.app);
      const spy = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => {});
      const unacknowledged = synthesize(options);
      spy.mockRestore();

      const fired = findings(unacknowledged.report).filter((f) => f.severity === 'error');
      expect(unacknowledged.error).toBeDefined();
      for (const ack of acknowledged) {
        const covered = fired.some((f) => f.ruleName === ack.id && `${f.path}/`.startsWith(`${ack.path}/`));
        expect(covered, `${ack.id} on ${ack.path}`).toBe(true);
      }
      for (const finding of fired) {
        const matched = acknowledged.some(
          (a) => a.id === finding.ruleName && `${finding.path}/`.startsWith(`${a.path}/`),
        );
        expect(matched, `${finding.ruleName} on ${finding.path}`).toBe(true);
      }
    }
  });
});
