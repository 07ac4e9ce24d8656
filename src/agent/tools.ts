import type { CrmSession, ToolCall, ToolDefinition } from '../upstreams/index.js';

/** The tools an agent profile may offer the LLM, served by the CRM pool. */
export type ToolName = 'lookup_caller' | 'book_appointment' | 'transfer_call';

export const TOOL_DEFINITIONS: Record<ToolName, ToolDefinition> = {
  lookup_caller: {
    name: 'lookup_caller',
    description: "Find the caller's contact record by phone number.",
    parameters: { type: 'object', properties: { phone: { type: 'string', description: 'E.164 number' } }, required: ['phone'] },
  },
  book_appointment: {
    name: 'book_appointment',
    description: 'Book a 30-minute appointment for a contact.',
    parameters: {
      type: 'object',
      properties: { contactId: { type: 'string' }, start: { type: 'string', description: 'ISO date-time' }, durationMin: { type: 'number' } },
      required: ['contactId', 'start'],
    },
  },
  transfer_call: {
    name: 'transfer_call',
    description: 'Hand the caller to a person. Name one of the configured transfer targets (for example "front-desk"). Say one short line first; the transfer starts when you have finished speaking.',
    parameters: { type: 'object', properties: { target: { type: 'string', description: 'the name of a transfer target' } }, required: ['target'] },
  },
};

/**
 * The target a `transfer_call` names, read from the model's arguments: it is
 * run by the call (not the CRM), which checks it against the allowlist.
 */
export function transferTarget(args: string): string | undefined {
  try {
    const target = (JSON.parse(args || '{}') as { target?: unknown }).target;
    return typeof target === 'string' && target.trim() ? target.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one tool call against the CRM and returns the JSON text the LLM reads
 * next. A failure becomes a result the model can speak about, never a thrown
 * turn: the caller hears "that slot is taken", not silence.
 */
export async function runTool(crm: CrmSession, leaseId: string, call: ToolCall, callerNumber: string, signal?: AbortSignal): Promise<string> {
  let args: Record<string, unknown>;
  try {
    args = JSON.parse(call.arguments || '{}') as Record<string, unknown>;
  } catch {
    return JSON.stringify({ error: 'the arguments were not valid JSON' });
  }
  try {
    switch (call.name) {
      case 'lookup_caller': {
        const phone = typeof args.phone === 'string' && args.phone ? args.phone : callerNumber;
        const contact = await crm.lookupCaller(leaseId, phone, signal);
        return JSON.stringify(contact ? { contact } : { contact: null, note: `no contact with ${phone}` });
      }
      case 'book_appointment': {
        if (typeof args.contactId !== 'string' || typeof args.start !== 'string') return JSON.stringify({ error: 'contactId and start are required' });
        const appointment = await crm.bookAppointment(leaseId, {
          contactId: args.contactId,
          start: args.start,
          ...(typeof args.durationMin === 'number' && { durationMin: args.durationMin }),
        }, signal);
        return JSON.stringify({ appointment });
      }
      default:
        return JSON.stringify({ error: `no tool named ${call.name}` });
    }
  } catch (err) {
    return JSON.stringify({ error: (err as Error).message });
  }
}
