import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { OUTCOMES, REASONS } from '#shared/domain/schemas.ts';
import { ARCHIVE_STREAM_NAME } from '../../infra/constructs/decision-archive.ts';
import { TABLE_ACTIONS } from '../../infra/constructs/governor-function.ts';
import { httpFunctions } from '../../infra/routes.ts';
import {
  allow,
  allowWhen,
  buildGovernor,
  resourceNames,
  type Statement,
  statementsOf,
  Template,
} from './support.ts';

/** As infra/routes.ts deploys it: the HTTP functions, the authorizer, the delivery pipeline on the webhook. */
let today: Template;
let todayNames: Map<string, string>;
/** A deployment without the Lambda authorizer: each function checks API keys itself. */
let noAuthorizer: Template;
let noAuthorizerNames: Map<string, string>;
/** With CORS, the ses and sns providers and an alarm address. */
let full: Template;
let fullNames: Map<string, string>;

beforeAll(() => {
  const a = buildGovernor();
  today = Template.fromStack(a.stateless);
  todayNames = resourceNames(a.app);
  const c = buildGovernor({ authorizer: undefined });
  noAuthorizer = Template.fromStack(c.stateless);
  noAuthorizerNames = resourceNames(c.app);
  const b = buildGovernor({
    settings: {
      allowedOrigins: 'https://prefs.example.com,https://admin.example.com',
      providers: 'email=ses,sms=sns',
      sesFrom: 'Brand <news@mail.example.com>',
      sesConfigurationSet: 'governor',
      snsSenderId: 'Brand',
      deliveryRateLimits: 'sms=50',
      alarmEmail: 'oncall@example.com',
    },
  });
  full = Template.fromStack(b.stateless);
  fullNames = resourceNames(b.app);
});

const idOf = (names: Map<string, string>, path: string) => {
  const id = [...names].find(([, p]) => p === path)?.[0];
  if (!id) throw new Error(`no resource ${path}`);
  return id;
};

const logs = (fn: string) => allow(['logs:CreateLogStream', 'logs:PutLogEvents'], `${fn}Logs`);
const xray = allow(['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], '*');
const table = (access: 'R' | 'RW', ...extra: string[]) => allow(TABLE_ACTIONS[access], 'Table', ...extra);
const sendTo = (queue: string) => allow(['sqs:SendMessage'], queue);
const readSecret = (secret: string) =>
  allow(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], secret);
/** The rate limit's shared counts: the `RATE#<key id>` items alone. */
const rateCounts = allowWhen(
  { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RATE#*'] } },
  ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  'Table',
);
/** Archive records into the decision archive's stream, that stream alone. */
const archive = allow(['firehose:PutRecordBatch'], 'Archive/Stream');
const inspect = (queue: string) => allow(['sqs:GetQueueAttributes'], queue);
const consume = (queue: string) =>
  allow(
    [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ],
    queue,
  );
const sortStatements = (statements: Statement[]) =>
  [...statements].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('every Governor function', () => {
  it('runs Node.js 22 on arm64 with active tracing and JSON logs in a log group kept a month', () => {
    const functions = Object.entries(today.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(httpFunctions.length + 4); // + authorizer, dispatch, release, dry-run worker
    for (const [id, fn] of functions) {
      expect(fn.Properties, id).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
      });
      const logGroup = today.findResources('AWS::Logs::LogGroup')[fn.Properties.LoggingConfig.LogGroup.Ref];
      expect(logGroup?.Properties.RetentionInDays, id).toBe(30);
    }
  });

  it('carries the Powertools settings, source maps and the config.ts settings in its environment', () => {
    for (const fn of Object.values(today.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'governor',
        POWERTOOLS_METRICS_NAMESPACE: 'Governor',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        GOVERNOR_POLICY_TTL_MS: '1000',
        GOVERNOR_IDEMPOTENCY_HOURS: '72',
        GOVERNOR_KEY_CACHE_TTL_MS: '30000',
        GOVERNOR_DEFAULT_RATE_LIMIT: '100',
        GOVERNOR_RELEASE_INTERVAL_S: '60',
      });
    }
  });

  it('answers within 10 s, except reports, whose reconcile may take as long as the HTTP API waits', () => {
    const timeout = (path: string) =>
      today.findResources('AWS::Lambda::Function')[idOf(todayNames, path)]?.Properties.Timeout;

    expect(timeout('Send')).toBe(10);
    expect(timeout('Reports')).toBe(29);
  });

  it('is given the names of exactly the resources it is bound to', () => {
    const env = (path: string) =>
      Object.keys(
        today.findResources('AWS::Lambda::Function')[idOf(todayNames, path)]?.Properties.Environment
          .Variables,
      );
    const bound = (path: string) =>
      env(path).filter((name) =>
        /^GOVERNOR_(TABLE_NAME|DELIVERY_QUEUE_URL|DLQ_URL|ARCHIVE_STREAM|\w+_SECRET_ARN)$/.test(name),
      );

    expect(bound('Send').sort()).toEqual([
      'GOVERNOR_ARCHIVE_STREAM',
      'GOVERNOR_DELIVERY_QUEUE_URL',
      'GOVERNOR_HASH_SECRET_ARN',
      'GOVERNOR_TABLE_NAME',
    ]);
    expect(bound('Preview').sort()).toEqual(['GOVERNOR_HASH_SECRET_ARN', 'GOVERNOR_TABLE_NAME']);
    expect(bound('Preferences').sort()).toEqual([
      'GOVERNOR_ARCHIVE_STREAM',
      'GOVERNOR_HASH_SECRET_ARN',
      'GOVERNOR_TABLE_NAME',
    ]);
    expect(bound('Events').sort()).toEqual([
      'GOVERNOR_ARCHIVE_STREAM',
      'GOVERNOR_HASH_SECRET_ARN',
      'GOVERNOR_TABLE_NAME',
    ]);
    expect(bound('Authorizer').sort()).toEqual(['GOVERNOR_ADMIN_KEY_SECRET_ARN', 'GOVERNOR_TABLE_NAME']);
    expect(bound('Delivery/Dispatch').sort()).toEqual([
      'GOVERNOR_DELIVERY_QUEUE_URL',
      'GOVERNOR_DLQ_URL',
      'GOVERNOR_HASH_SECRET_ARN',
      'GOVERNOR_TABLE_NAME',
      'GOVERNOR_WEBHOOK_SECRET_ARN',
    ]);
    expect(bound('Delivery/Release').sort()).toEqual([
      'GOVERNOR_ARCHIVE_STREAM',
      'GOVERNOR_DELIVERY_QUEUE_URL',
      'GOVERNOR_HASH_SECRET_ARN',
      'GOVERNOR_TABLE_NAME',
    ]);
    expect(bound('Health')).toEqual([]);
    // The table only for the rate limit's shared counts.
    expect(bound('Queues').sort()).toEqual([
      'GOVERNOR_DELIVERY_QUEUE_URL',
      'GOVERNOR_DLQ_URL',
      'GOVERNOR_TABLE_NAME',
    ]);
    expect(bound('Console')).toEqual([]);
  });

  it('names the archive stream to exactly the functions that archive: send, release, preferences and erasure, events', () => {
    const archiving = Object.entries(today.findResources('AWS::Lambda::Function'))
      .filter(([, fn]) => 'GOVERNOR_ARCHIVE_STREAM' in fn.Properties.Environment.Variables)
      .map(([id, fn]) => [todayNames.get(id), fn.Properties.Environment.Variables.GOVERNOR_ARCHIVE_STREAM]);

    expect(archiving.sort()).toEqual([
      ['Delivery/Release', ARCHIVE_STREAM_NAME],
      ['Events', ARCHIVE_STREAM_NAME],
      ['Preferences', ARCHIVE_STREAM_NAME],
      ['Send', ARCHIVE_STREAM_NAME],
    ]);
  });

  it('outputs the console URL: the API URL followed by console', () => {
    const value = (name: string) => Object.values(today.findOutputs(name))[0]?.Value['Fn::Join'];
    const [separator, parts] = value('ConsoleUrl');

    expect(separator).toBe('');
    expect(parts).toEqual([...value('ApiUrl')[1].slice(0, -1), `${value('ApiUrl')[1].at(-1)}console`]);
  });

  it('tells the console function where its files are in its bundle', () => {
    const env =
      today.findResources('AWS::Lambda::Function')[idOf(todayNames, 'Console')]?.Properties.Environment
        .Variables;

    expect(env.GOVERNOR_CONSOLE_DIR).toBe('console');
  });
});

describe('least privilege', () => {
  const scanAndRW = allow([...TABLE_ACTIONS.RW, 'dynamodb:Scan'], 'Table');

  it.each([
    ['Send', [table('RW'), sendTo('DeliveryQueue'), readSecret('HashSecret'), archive]],
    ['Preview', [table('R'), rateCounts, readSecret('HashSecret')]],
    ['Policy', [table('RW')]],
    ['Preferences', [table('RW'), readSecret('HashSecret'), archive]],
    ['Events', [table('RW'), readSecret('HashSecret'), archive]],
    ['Reports', [scanAndRW]],
    ['DryRuns', [table('RW'), allow(['states:StartExecution'], 'DryRunMachine/StateMachine')]],
    ['Keys', [table('RW')]],
    ['Audit', [table('R'), rateCounts]],
    ['Health', []],
    ['Console', []],
    ['Queues', [inspect('DeliveryQueue'), inspect('DeadLetterQueue'), rateCounts]],
    ['Authorizer', [table('R'), readSecret('AdminKey')]],
    [
      'Delivery/Dispatch',
      [
        table('RW'),
        consume('DeliveryQueue'),
        sendTo('DeadLetterQueue'),
        readSecret('Webhook'),
        readSecret('HashSecret'),
      ],
    ],
    [
      'Delivery/Release',
      [
        table('RW', 'Table/index/due', 'Table/index/campaign'),
        sendTo('DeliveryQueue'),
        readSecret('HashSecret'),
        archive,
      ],
    ],
  ] as const)('grants %s only its own logs, X-Ray and what its code uses', (name, grants) => {
    expect(statementsOf(today, todayNames, name)).toEqual(sortStatements([logs(name), xray, ...grants]));
  });

  it('covers every function of infra/routes.ts above', () => {
    const functions = Object.keys(today.findResources('AWS::Lambda::Function')).map((id) =>
      todayNames.get(id),
    );

    expect(functions.sort()).toEqual(
      [
        ...httpFunctions.map((s) => s.name),
        'Authorizer',
        'Delivery/Dispatch',
        'Delivery/Release',
        'DryRunMachine/Worker',
      ].sort(),
    );
  });

  it('lets each protected function read the admin key only when there is no authorizer to check keys', () => {
    for (const spec of httpFunctions) {
      const resources = statementsOf(noAuthorizer, noAuthorizerNames, spec.name).flatMap((s) => s.resources);
      expect(resources.includes('AdminKey'), spec.name).toBe(spec.public !== true);
    }
  });

  it("lets every protected function add to its keys' shared request counts, and the public one nothing", () => {
    const writesCounts = (s: Statement) =>
      s.resources.includes('Table') &&
      s.actions.includes('dynamodb:UpdateItem') &&
      s.actions.includes('dynamodb:GetItem');
    for (const spec of httpFunctions) {
      const statements = statementsOf(today, todayNames, spec.name);
      expect(statements.some(writesCounts), spec.name).toBe(spec.public !== true);
    }
  });

  it('grants the dispatch function SES sending from its sender only, and SMS publishing, when they are used', () => {
    expect(statementsOf(full, fullNames, 'Delivery/Dispatch')).toEqual(
      sortStatements([
        logs('Delivery/Dispatch'),
        xray,
        table('RW'),
        consume('DeliveryQueue'),
        sendTo('DeadLetterQueue'),
        readSecret('Webhook'),
        readSecret('HashSecret'),
        allow(
          ['ses:SendEmail'],
          'arn:AWS::Partition:ses:AWS::Region:AWS::AccountId:identity/news@mail.example.com',
          'arn:AWS::Partition:ses:AWS::Region:AWS::AccountId:identity/mail.example.com',
          'arn:AWS::Partition:ses:AWS::Region:AWS::AccountId:configuration-set/governor',
        ),
        allow(['sns:Publish'], '*'),
      ]),
    );
  });
});

describe('the HTTP API', () => {
  const routeKeys = (template: Template) =>
    Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey as string,
    );

  it('routes each route of infra/routes.ts to the Lambda integration of its function', () => {
    const integrations = today.findResources('AWS::ApiGatewayV2::Integration');
    for (const spec of httpFunctions) {
      for (const key of spec.routes) {
        const [route] = Object.values(
          today.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: key } }),
        );
        const target = route?.Properties.Target['Fn::Join'][1][1].Ref as string;
        const integration = integrations[target];

        expect(integration?.Properties.IntegrationType, key).toBe('AWS_PROXY');
        expect(integration?.Properties.PayloadFormatVersion, key).toBe('2.0');
        expect(integration?.Properties.IntegrationUri['Fn::GetAtt'][0], key).toBe(
          idOf(todayNames, spec.name),
        );
      }
    }
    expect(routeKeys(today).sort()).toEqual(httpFunctions.flatMap((s) => s.routes).sort());
  });

  it('leaves authorization to the functions in a deployment without the authorizer', () => {
    for (const route of Object.values(noAuthorizer.findResources('AWS::ApiGatewayV2::Route'))) {
      expect(route.Properties.AuthorizationType).toBe('NONE');
    }
    noAuthorizer.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  it('puts every route but the public ones behind the API-key authorizer', () => {
    today.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 60,
    });
    const publicRoutes = new Set(httpFunctions.filter((s) => s.public).flatMap((s) => s.routes));
    expect(publicRoutes).toEqual(
      new Set(['GET /health', 'GET /openapi.json', 'GET /console', 'GET /console/{proxy+}']),
    );
    for (const route of Object.values(today.findResources('AWS::ApiGatewayV2::Route'))) {
      const key = route.Properties.RouteKey as string;
      expect(route.Properties.AuthorizationType, key).toBe(
        publicRoutes.has(key as never) ? 'NONE' : 'CUSTOM',
      );
    }
  });

  it('answers CORS preflights for the configured origins only', () => {
    full.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://prefs.example.com', 'https://admin.example.com'],
        AllowHeaders: ['authorization', 'content-type', 'if-match'],
      }),
    });
    today.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
  });

  it('logs every request, publishes per-route metrics and throttles on its $default stage', () => {
    today.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        DetailedMetricsEnabled: true,
        ThrottlingRateLimit: 2000,
        ThrottlingBurstLimit: 4000,
      },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });
});

describe('the delivery pipeline', () => {
  it('feeds the delivery queue to the dispatch function in batches that report item failures', () => {
    today.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    today.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: idOf(todayNames, 'Delivery/Dispatch') },
      EventSourceArn: { 'Fn::ImportValue': Match.stringLikeRegexp('DeliveryQueue') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 20 },
    });
  });

  it('tells the dispatch function which provider delivers each channel, and their settings', () => {
    const env = (template: Template, names: Map<string, string>) =>
      template.findResources('AWS::Lambda::Function')[idOf(names, 'Delivery/Dispatch')]?.Properties
        .Environment.Variables;

    expect(JSON.parse(env(today, todayNames).GOVERNOR_PROVIDERS)).toEqual({
      email: 'webhook',
      sms: 'webhook',
      push: 'webhook',
      whatsapp: 'webhook',
    });
    expect(env(full, fullNames)).toMatchObject({
      GOVERNOR_PROVIDERS: JSON.stringify({ email: 'ses', sms: 'sns', push: 'webhook', whatsapp: 'webhook' }),
      GOVERNOR_DELIVERY_MAX_RECEIVES: '15',
      GOVERNOR_SES_FROM: 'Brand <news@mail.example.com>',
      GOVERNOR_SES_CONFIGURATION_SET: 'governor',
      GOVERNOR_SNS_SENDER_ID: 'Brand',
      GOVERNOR_RATE_LIMITS: JSON.stringify({ sms: 50 }),
    });
  });

  it('runs the release function every minute, without retrying a missed run', () => {
    today.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [idOf(todayNames, 'Delivery/Release'), 'Arn'] },
          Id: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 0 },
        },
      ],
    });
  });

  it('gives each release run time to finish before the next one starts', () => {
    const release = today.findResources('AWS::Lambda::Function')[idOf(todayNames, 'Delivery/Release')];

    expect(release?.Properties.Timeout).toBeLessThan(60);
  });
});

describe('operations', () => {
  const alarm = (template: Template, names: Map<string, string>, path: string) => {
    const found = template.findResources('AWS::CloudWatch::Alarm')[idOf(names, path)];
    if (!found) throw new Error(`no alarm ${path}`);
    return found.Properties;
  };

  it('calls someone as soon as one delivery is dead-lettered', () => {
    expect(alarm(today, todayNames, 'Operations/DeadLetters')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::ImportValue': expect.stringMatching(/DeadLetterQueue/) } },
      ],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      AlarmActions: [{ Ref: idOf(todayNames, 'Operations/AlarmTopic') }],
    });
  });

  it('alarms on dispatch errors', () => {
    expect(alarm(today, todayNames, 'Operations/DispatchErrors')).toMatchObject({
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(todayNames, 'Delivery/Dispatch') } }],
      Threshold: 0,
    });
  });

  it('alarms on the throttles of every function', () => {
    const functions = [...httpFunctions.map((s) => [s.name, s.name]), ['Authorizer', 'Authorizer']];
    functions.push(['Dispatch', 'Delivery/Dispatch'], ['Release', 'Delivery/Release']);
    for (const [name, path] of functions) {
      expect(alarm(today, todayNames, `Operations/${name}Throttles`)).toMatchObject({
        MetricName: 'Throttles',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(todayNames, path ?? '') } }],
      });
    }
  });

  it('alarms on a 5xx rate over 1% of at least 20 requests', () => {
    const props = alarm(today, todayNames, 'Operations/ApiServerErrorRate');
    const expression = (props.Metrics as { Expression?: string }[]).find((m) => m.Expression)?.Expression;

    expect(expression).toBe('IF(requests >= 20, 100 * errors / requests, 0)');
    expect(props).toMatchObject({ Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
  });

  it("alarms on the send route's p99 latency", () => {
    const props = alarm(today, todayNames, 'Operations/SendLatencyP99');

    expect(props.Metrics[0].MetricStat).toEqual({
      Metric: {
        Namespace: 'AWS/ApiGateway',
        MetricName: 'Latency',
        Dimensions: [
          { Name: 'ApiId', Value: { Ref: idOf(todayNames, 'Api/HttpApi') } },
          { Name: 'Method', Value: 'POST' },
          { Name: 'Resource', Value: '/v1/messages' },
          { Name: 'Stage', Value: '$default' },
        ],
      },
      Period: 300,
      Stat: 'p99',
    });
    expect(props).toMatchObject({
      Threshold: 1000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
    });
  });

  it('notifies through an encrypted topic, and by email when an address is configured', () => {
    full.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    full.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    today.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('shows decisions by outcome and suppressed volume by reason on the dashboard', () => {
    const [dashboard] = Object.values(today.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);

    for (const outcome of OUTCOMES) {
      expect(body).toContain(
        `[\\"Governor\\",\\"Decisions\\",\\"outcome\\",\\"${outcome}\\",\\"service\\",\\"governor\\"`,
      );
    }
    for (const reason of REASONS) {
      expect(body).toContain(
        `[\\"Governor\\",\\"Suppressed\\",\\"reason\\",\\"${reason}\\",\\"service\\",\\"governor\\"`,
      );
    }
  });
});
