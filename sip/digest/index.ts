export { DigestClient, type DigestCredentials, type ChallengeOutcome } from './client.js';
export { DigestServer, type DigestServerOptions, type VerifyResult } from './server.js';
export { digestResponse, type DigestAlgorithm } from './hash.js';
export { parseDigestParams } from './params.js';
export { DigestError } from './errors.js';
