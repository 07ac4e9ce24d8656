export { createDeepgramFactory, DeepgramConnection, type DeepgramOptions, type Transcript, type AsrEvents } from './deepgram-asr.js';
export { createElevenLabsFactory, ElevenLabsConnection, TtsContext, type ElevenLabsOptions, type TtsContextEvents } from './elevenlabs-tts.js';
export { createLlmFactory, LlmSession, type LlmOptions, type LlmProvider, type ChatMessage, type ChatRequest, type LlmEvent, type ToolCall, type ToolDefinition } from './llm.js';
export { createCrmFactory, CrmSession, SlotTakenError, type CrmOptions, type Contact, type Appointment } from './crm.js';
export { Http2Session } from './http2-session.js';
export { Http1Connection } from './http1-connection.js';
export { connectHttp, type HttpConnectOptions } from './http-connect.js';
export type { HttpConnection, HttpExchange } from './http-connection.js';
export { UpstreamAuthError, UpstreamConnectError, UpstreamProtocolError, UpstreamClosedError, UpstreamHttpError, UpstreamTimeoutError } from './errors.js';
