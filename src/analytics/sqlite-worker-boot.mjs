// The SQLite worker's entry: a worker thread does not inherit the tsx loader its parent
// registered, so it registers its own before loading the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./sqlite-worker.ts');
