/**
 * The HTTP API (API Gateway v2): one `$default` stage with JSON access logs, per-route metrics and a
 * throttle, optional CORS for the operator's origins, and routes to Lambda functions — behind the
 * Lambda authorizer once the deployment has one, except the public routes.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  type HttpRoute,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteKey } from '../routes.ts';

/** What each request leaves in the access log: no source IP, no body, no key — nothing about a person. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  responseLength: '$context.responseLength',
  userAgent: '$context.identity.userAgent',
};

export interface GovernorApiProps {
  /** Browser origins allowed by CORS; none: no CORS. */
  readonly allowedOrigins?: readonly string[];
  readonly rateLimit: number;
  readonly burstLimit: number;
  /** The Lambda authorizer function; absent: each function checks the API key itself. */
  readonly authorizer?: IFunction;
}

export class GovernorApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  readonly authorizer: HttpLambdaAuthorizer | undefined;

  constructor(scope: Construct, id: string, props: GovernorApiProps) {
    super(scope, id);
    const origins = props.allowedOrigins ?? [];
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Governor v1: send, preview, policy, preferences, events',
      createDefaultStage: false,
      ...(origins.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...origins],
              allowMethods: [
                CorsHttpMethod.GET,
                CorsHttpMethod.POST,
                CorsHttpMethod.PUT,
                CorsHttpMethod.DELETE,
              ],
              allowHeaders: ['authorization', 'content-type', 'if-match'],
              exposeHeaders: ['etag', 'retry-after'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // Per-route metrics: the send route's own latency and error rate, apart from the other routes.
      detailedMetricsEnabled: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.authorizer = props.authorizer
      ? new HttpLambdaAuthorizer('ApiKeyAuthorizer', props.authorizer, {
          authorizerName: 'governor-api-key',
          responseTypes: [HttpLambdaResponseType.SIMPLE],
          identitySource: ['$request.header.Authorization'],
          resultsCacheTtl: Duration.seconds(60),
        })
      : undefined;
  }

  /** The base URL clients call. */
  get url(): string {
    return this.stage.url;
  }

  /** Routes `routes` to `handler`; public routes never go through the authorizer. */
  addRoutes(
    name: string,
    handler: IFunction,
    routes: readonly RouteKey[],
    options: { public?: boolean } = {},
  ) {
    const integration = new HttpLambdaIntegration(`${name}Integration`, handler);
    const authorizer = options.public ? undefined : this.authorizer;
    const added: HttpRoute[] = [];
    for (const key of routes) {
      const [method, path] = key.split(' ') as [keyof typeof HttpMethod, string];
      const [route] = this.api.addRoutes({
        path,
        methods: [HttpMethod[method]],
        integration,
        ...(authorizer ? { authorizer } : {}),
      });
      if (!route) throw new Error(`no route was added for ${key}`);
      if (!authorizer) this.acknowledgeOpenRoute(route, key, options.public === true);
      added.push(route);
    }
    return added;
  }

  private acknowledgeOpenRoute(route: HttpRoute, key: RouteKey, isPublic: boolean): void {
    Validations.of(route).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: isPublic
        ? `${key} is public by design (a liveness check / the OpenAPI document): it reads no data and needs no key.`
        : `${key} is authorized by its function before any work in this deployment without the Lambda ` +
          'authorizer: functions/http.ts checks the Bearer API key (SHA-256, constant time) and its scope, ' +
          'answering 401/403, the code the local server runs and the e2e tests cover.',
    });
  }
}
