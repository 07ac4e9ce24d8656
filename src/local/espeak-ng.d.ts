// The espeak-ng package ships no typings; src/local/synthesizer.ts types the one call it makes.
declare module 'espeak-ng';
