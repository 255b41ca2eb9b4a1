/**
 * Every number the simulation's model rests on, in one table with its source: a survey figure from
 * SURVEYS.md, or "assumption". The values are read from the constants the code uses, so the table
 * cannot drift from the model; `npm run simulate -- --assumptions` prints it as the README shows it.
 */
import { CAMPAIGNS } from './campaigns.ts';
import { ENGAGEMENT } from './engagement.ts';
import { GOVERNOR_DIGESTS, GOVERNOR_FATIGUE, governorPolicy, TUNING_SEEDS } from './policy.ts';
import { POPULATION } from './population.ts';

export interface Assumption {
  what: string;
  value: string;
  source: string;
}

const pct = (x: number) => `${Number((x * 100).toFixed(2))}%`;
const range = ([a, b]: readonly [number, number]) => `${a}–${b}`;
const tuning = TUNING_SEEDS.join(', ');

export function assumptions(): Assumption[] {
  const P = POPULATION;
  const C = CAMPAIGNS;
  const E = ENGAGEMENT;
  const F = GOVERNOR_FATIGUE;
  const ch = E.channels;
  const costs = governorPolicy().channelCosts;
  const wishes = Object.entries(P.wishPerWeekWeights)
    .map(([n, w]) => `${n}: ${w}%`)
    .join(', ');
  return [
    {
      what: 'Customers in many campaign audiences (over-solicited)',
      value: pct(P.heavyShare),
      source: `assumption, calibrated (seed ${tuning}) so that about 75% get more than they wish a week on the month's average with no governor — survey: 75% say brands contact them too often. The agreement with 75% is an input, not a result`,
    },
    {
      what: 'Customers interested in few categories',
      value: pct(P.uninterestedShare),
      source: 'survey: 86% say brands send them too much that does not interest them',
    },
    {
      what: 'Chance a category is of real interest (few-category customers / others)',
      value: `${pct(P.categoryInterestChance.uninterested)} / ${pct(P.categoryInterestChance.others)}`,
      source: 'assumption (survey, qualitative: only 8% feel brands know their needs)',
    },
    {
      what: 'Relevance of a category of interest / of no interest (uniform)',
      value: `${range(P.interestRelevance.interested)} / ${range(P.interestRelevance.other)}`,
      source: 'assumption',
    },
    {
      what: 'Most marketing messages a week a customer accepts (their wish)',
      value: wishes,
      source: 'assumption',
    },
    {
      what: 'Customers who use the preference centre, and state their wish there (`maxPerWeek`)',
      value: pct(P.preferenceCentreShare),
      source:
        'survey: 42% feel unique when they choose the moment, the place and the topics of the interaction; that they all state a weekly maximum is an assumption',
    },
    {
      what: 'Of them: turn off their least interesting topic / set their own quiet hours',
      value: `${pct(P.topicOptOutShare)} / ${pct(P.ownQuietHoursShare)}`,
      source: 'assumption',
    },
    {
      what: 'Of them: opt out of SMS (of the SMS audience) / e-mail / push (of app users)',
      value: `${pct(P.channelOptOutShare.sms)} / ${pct(P.channelOptOutShare.email)} / ${pct(P.channelOptOutShare.push)}`,
      source: 'assumption',
    },
    {
      what: "In the brand's SMS audience / with the app (push)",
      value: `${pct(P.smsAudienceShare)} / ${pct(P.appShare)}`,
      source: 'assumption (survey, qualitative: 73% refuse to be contacted except in an emergency)',
    },
    {
      what: 'Customers in another time zone than Paris (Réunion, Martinique, Montréal, London, Cayenne, Nouméa)',
      value: pct(Object.values(P.otherTimeZones).reduce((a, b) => a + b, 0) / 100),
      source: 'assumption',
    },
    {
      what: 'Campaign calendar (Paris time)',
      value:
        'e-mail twice a weekday and once a weekend day (07:30, 10:00, 14:00, 18:30 or 20:45), SMS every third day (12:00 or 18:00), push daily (12:30 or 19:30)',
      source: 'assumption',
    },
    {
      what: 'Chance a heavy / light customer is in an audience (e-mail, SMS, push)',
      value: `${pct(C.reach.email.heavy)} / ${pct(C.reach.email.light)}, ${pct(C.reach.sms.heavy)} / ${pct(C.reach.sms.light)}, ${pct(C.reach.push.heavy)} / ${pct(C.reach.push.light)}`,
      source: 'assumption',
    },
    {
      what: 'Campaigns targeted on interests',
      value: pct(C.targetedShare),
      source:
        'survey: 79% say brands speak without saying anything (the rest read as targeted: an assumption)',
    },
    {
      what: 'Relevance effect of targeting (targeted / not), per-message noise (s.d.)',
      value: `+${C.relevanceEffect.targeted} / ${C.relevanceEffect.untargeted}, ${C.relevanceNoise}`,
      source: 'assumption',
    },
    {
      what: 'Message expiry by category',
      value: Object.entries(C.expiryHours)
        .map(([c, h]) => `${c} ${h} h`)
        .join(', '),
      source: 'assumption',
    },
    {
      what: 'Chance of an open (a read) at relevance 0.5, no over-pressure: e-mail / SMS / push',
      value: `${pct(ch.email.open)} / ${pct(ch.sms.open)} / ${pct(ch.push.open)}; × (0.5 + relevance)`,
      source:
        'assumption (survey: 48% answer an SMS within a minute, 30% within an hour — SMS are read; SMS opens are not reported, so not counted)',
    },
    {
      what: 'Chance of a click once opened, at relevance 1: e-mail / SMS / push',
      value: `${pct(ch.email.clickGivenOpen)} / ${pct(ch.sms.clickGivenOpen)} / ${pct(ch.push.clickGivenOpen)}; × relevance`,
      source: 'assumption',
    },
    {
      what: 'Over-pressure x: messages in the rolling 7 days (all channels) above the wish, over the wish',
      value: `x = max(0, n − wish) / wish, n over ${E.pressureWindowMs / 86_400_000} days`,
      source: 'assumption',
    },
    {
      what: 'Opens (and so clicks) fall with over-pressure',
      value: `÷ (1 + ${E.engagementDecay}·x)`,
      source: `assumption (the form — opens only, not clicks once opened — settled on seed ${tuning})`,
    },
    {
      what: 'Unsubscribe from the channel per message at relevance 0.5, no over-pressure: e-mail / SMS / push',
      value: `${pct(ch.email.unsubscribe)} / ${pct(ch.sms.unsubscribe)} / ${pct(ch.push.unsubscribe)}; × (1 + ${E.unsubscribeGrowth}·x) × (1.5 − relevance)`,
      source:
        'assumption (survey, qualitative: 60% are frustrated by products that do not interest them, 37% of them consider buying elsewhere)',
    },
    {
      what: 'Complaint (spam report) per message at relevance 0.5, no over-pressure: e-mail / SMS / push',
      value: `${pct(ch.email.complaint)} / ${pct(ch.sms.complaint)} / ${pct(ch.push.complaint)}; × (1 + ${E.complaintGrowth}·x) × (1.5 − relevance)`,
      source: 'assumption',
    },
    {
      what: 'Delay before a delivery report, an unsubscribe, complaint, open or click reaches Governor',
      value: `${E.feedbackDelayMs / 3_600_000} h`,
      source: 'assumption',
    },
    {
      what: 'What the providers report to `POST /v1/events` for a delivered message (one request per message)',
      value: 'delivered (every channel), opened (e-mail, push), clicked, unsubscribed, complained',
      source: 'assumption (SES and push SDKs report opens; SMS has none)',
    },
    {
      what: "The governor with fatigue's settings (policy section `fatigue`; the score's 14-day half-life is the engine's)",
      value: `score < ${F.threshold} after ${F.minDelivered} deliveries: caps × ${F.capScale}, relevance + ${F.relevanceBoost}; ${F.unengagedRun} deliveries without an open or click: caps × ${F.runCapScale}, relevance + ${F.runRelevanceBoost}`,
      source: `tuned on seed ${tuning} only (\`npm run simulate -- --tune\`), not on a reported seed`,
    },
    {
      what: 'The digest of the governor + pre-emption + digests (policy section `digests`): marketing e-mails only',
      value: `at most ${GOVERNOR_DIGESTS.maxItems} items, delivered within ${GOVERNOR_DIGESTS.maxWait} of its first`,
      source: `chosen on seed ${tuning} only (\`npm run simulate -- --tune-digests\`): the smallest digest carrying 90% of the largest's items; e-mail only, an assumption (a list of offers is an e-mail)`,
    },
    {
      what: 'A digest, to the customer',
      value:
        "one contact (one open, click, unsubscribe or complaint draw, at its most relevant item's relevance); every item in it counts as delivered, at its own relevance",
      source:
        'assumption (an item in a digest is likely read less than the same message alone: the figures count it in full, an upper estimate)',
    },
    {
      what: "Without Governor, the platform honours unsubscribes and complaints, not the preference centre's choices",
      value: 'yes',
      source: 'assumption',
    },
    {
      what: 'Sending cost per message: e-mail / SMS / push',
      value: `${costs.email} / ${costs.sms} / ${costs.push} ${costs.currency}`,
      source: 'assumption',
    },
  ];
}

/** The table in Markdown, as the README shows it. */
export function assumptionsTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| what | value | source |',
    '| --- | --- | --- |',
    ...assumptions().map((a) => `| ${cell(a.what)} | ${cell(a.value)} | ${cell(a.source)} |`),
  ].join('\n');
}
