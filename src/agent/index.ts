export { AgentSession, type AgentSessionOptions, type AgentUpstreams } from './agent-session.js';
export { TurnTimeline, TURN_MARKS, type TurnMark, type TurnRecord } from './turn-timeline.js';
