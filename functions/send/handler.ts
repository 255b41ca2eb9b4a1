/**
 * POST /v1/messages and POST /v1/messages/batch: decide, queue or hold, answer. GET and DELETE
 * /v1/messages/{messageId}?customerId=…: what became of a message, and its cancellation while held.
 * POST /v1/campaigns/{campaignId}/cancel and GET /v1/campaigns/{campaignId}/cancellations/{id}: the
 * cancellation of everything held for a campaign (a job the release runs carry out), and its count.
 */
import { getCampaignCancel, startCampaignCancel } from '#shared/app/campaign-cancellation.ts';
import { cancelMessage, messageQuery, messageStatus } from '#shared/app/cancellation.ts';
import { type SendDeps, sendMessages } from '#shared/app/send.ts';
import { getRoot } from '#shared/composition.ts';
import {
  batchSchema,
  type DecisionResponse,
  idSchema,
  type Message,
  messageSchema,
} from '#shared/domain/schemas.ts';
import { GovernorError, ValidationError } from '#shared/errors.ts';
import { countDecisions } from '#shared/observability/index.ts';
import { problemOf } from '#shared/problems.ts';
import { fieldErrors, httpFunction, parseWith, type RouteHandler } from '../http.ts';

const root = getRoot();
// The keyed hashes' secret, read once at cold start (a clear failure there if it is missing).
await root.hashes.ready();
const deps: SendDeps = {
  ...root,
  onDecided: (decisions) => countDecisions(decisions.map((d) => d.verdict)),
};

function itemError(error: GovernorError, messageId: unknown) {
  return {
    ...(typeof messageId === 'string' ? { messageId } : {}),
    status: error.status,
    error: problemOf(error, { internalDetail: 'The message could not be decided; retry it.' }),
  };
}

export const sendOne: RouteHandler = async ({ body }) => {
  const message = parseWith(messageSchema, body, 'the message');
  const [answer] = await sendMessages(deps, [message]);
  if (answer instanceof GovernorError) throw answer;
  return { status: 200, body: answer };
};

export const sendBatch: RouteHandler = async ({ body }) => {
  const { messages: items } = parseWith(batchSchema, body, 'the batch');
  const valid: Message[] = [];
  const slots: (number | ReturnType<typeof itemError>)[] = items.map((item, index) => {
    const parsed = messageSchema.safeParse(item);
    if (parsed.success) return valid.push(parsed.data) - 1;
    const messageId = (item as { messageId?: unknown } | null)?.messageId;
    return itemError(
      new ValidationError(`message ${index} is not valid`, fieldErrors(parsed.error)),
      messageId,
    );
  });
  const answers = valid.length > 0 ? await sendMessages(deps, valid) : [];
  const results = slots.map((slot) => {
    if (typeof slot !== 'number') return slot;
    const answer = answers[slot] as DecisionResponse | GovernorError;
    return answer instanceof GovernorError ? itemError(answer, valid[slot]?.messageId) : answer;
  });
  return { status: 200, body: { results } };
};

function messageOf(event: Parameters<RouteHandler>[0]['event']) {
  const messageId = parseWith(idSchema, event.pathParameters?.messageId, 'the messageId in the path');
  const { customerId } = parseWith(messageQuery, event.queryStringParameters ?? {}, 'the query');
  return { messageId, customerId };
}

export const readMessage: RouteHandler = async ({ event }) => {
  const { messageId, customerId } = messageOf(event);
  return { status: 200, body: await messageStatus(root, customerId, messageId) };
};

export const cancelOne: RouteHandler = async ({ event }) => {
  const { messageId, customerId } = messageOf(event);
  return { status: 200, body: await cancelMessage(root, customerId, messageId) };
};

const campaignOf = (event: Parameters<RouteHandler>[0]['event']) =>
  parseWith(idSchema, event.pathParameters?.campaignId, 'the campaignId in the path');

export const cancelCampaign: RouteHandler = async ({ event, principal }) => {
  const job = await startCampaignCancel(root, campaignOf(event), principal.keyId);
  return {
    status: 202,
    body: { id: job.id, campaignId: job.campaignId, status: job.status },
    headers: {
      location: `/v1/campaigns/${encodeURIComponent(job.campaignId)}/cancellations/${job.id}`,
    },
  };
};

export const readCampaignCancel: RouteHandler = async ({ event }) => ({
  status: 200,
  body: await getCampaignCancel(root, campaignOf(event), event.pathParameters?.id ?? ''),
});

export const handler = httpFunction(root.authenticate, {
  'POST /v1/messages': { handle: sendOne },
  'POST /v1/messages/batch': { handle: sendBatch },
  'GET /v1/messages/{messageId}': { query: ['customerId'], handle: readMessage },
  'DELETE /v1/messages/{messageId}': { query: ['customerId'], handle: cancelOne },
  'POST /v1/campaigns/{campaignId}/cancel': { handle: cancelCampaign },
  'GET /v1/campaigns/{campaignId}/cancellations/{id}': { handle: readCampaignCancel },
});
