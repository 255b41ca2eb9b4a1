/**
 * The HTTP API's Lambda authorizer (REQUEST type, payload 2.0, simple responses, cached by API Gateway
 * per Authorization header): the same `authenticate` the functions run locally.
 *
 * A refused key is still answered `isAuthorized: true`, with `denied` set in the context: the function
 * behind then answers the API's 401 problem+json before doing anything (API Gateway's own refusal is a
 * bare 403 `{"message":"Forbidden"}`, which would break the contract). A failure to check (DynamoDB
 * unavailable) throws, so that API Gateway answers 500 and caches nothing.
 */
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { type AuthorizerContext, deniedContext, toAuthorizerContext } from '#shared/app/auth.ts';
import { getRoot } from '#shared/composition.ts';
import { UnauthorizedError } from '#shared/errors.ts';

const root = getRoot();

export async function handler(
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> {
  try {
    return { isAuthorized: true, context: toAuthorizerContext(await root.authenticate(event)) };
  } catch (error) {
    if (error instanceof UnauthorizedError)
      return { isAuthorized: true, context: deniedContext(error.message) };
    throw error;
  }
}
