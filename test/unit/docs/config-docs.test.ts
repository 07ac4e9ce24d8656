import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_PATH } from '../../../src/config/index.js';

type Tree = Record<string, unknown>;
function leaves(t: Tree, prefix = ''): string[] {
  return Object.entries(t).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? leaves(v as Tree, key) : [key];
  });
}

describe('docs: README documents the configuration', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const documented = new Set([...readme.matchAll(/^### ([\w.<>]+) \(/gm)].map((m) => m[1]!));
  // The four pools share their keys: the README documents them once as pools.<upstream>.KEY.
  // Agent profiles are a map: documented once as agents.<name>.KEY.
  const normalise = (k: string) => k.replace(/^pools\.(asr|tts|llm|crm)\./, 'pools.<upstream>.').replace(/^agents\.[^.]+\./, 'agents.<name>.');
  const keys = new Set(leaves(parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as Tree).map(normalise));

  it('every key of config/default.yaml has a section', () => {
    const missing = [...keys].filter((k) => !documented.has(k));
    assert.deepEqual(missing, []);
  });

  it('every key\'s section gives a default (or per-pool defaults) and an example', () => {
    const sections = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Errors')).split(/^(?=### )/m).slice(1);
    const lacking = sections
      .filter((sec) => !/Example:/.test(sec) || !/Default|\[\d+ \/ \d+/.test(sec))
      .map((sec) => sec.split('\n')[0]);
    assert.ok(sections.length >= keys.size - 5, `only ${sections.length} sections read`);
    assert.deepEqual(lacking, []);
  });

  it('the README documents no key that does not exist', () => {
    const stale = [...documented].filter((k) => !keys.has(k));
    assert.deepEqual(stale, []);
  });
});
