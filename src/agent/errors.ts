import { defineError } from '../errors.js';

/**
 * Why a finished turn's pending work stops: the abort reason of its LLM stream and of its TTS,
 * LLM and CRM acquisitions once the turn was completed, barged in or failed. A normal end, not a
 * fault; one instance serves every turn (agent-session.ts), so it names no turn.
 */
export const TurnOverError = defineError<Record<string, never>>(
  'WL_ERR_TURN_OVER',
  'TurnOverError',
  () => 'the turn is over',
);
