export { TurnOverError } from './errors.js';
export { AgentSession, type AgentSessionOptions, type AgentUpstreams } from './agent-session.js';
export { TurnTimeline, TURN_MARKS, type TurnMark, type TurnRecord } from './turn-timeline.js';
export { renderApologyClip, apologyClip, APOLOGY_CLIP_TEXT } from './apology-clip.js';
export { TurnVoice, REPLACEMENT_APOLOGY } from './turn-voice.js';
