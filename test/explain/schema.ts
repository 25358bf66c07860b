/**
 * A small JSON Schema checker for the subset docs/explain.md uses (type,
 * properties, required, additionalProperties: false, enum, const, items,
 * oneOf, $ref to #/definitions/…), and the loader of the schema blocks
 * embedded in the docs (`<!-- schema: NAME -->` followed by a ```json block).
 */
import { readFileSync } from 'node:fs';

export type Schema = Record<string, unknown>;

/** The JSON block after `<!-- schema: name -->` in a Markdown file. */
export function schemaFromDoc(file: string, name: string): Schema {
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(`<!-- schema: ${name} -->`);
  if (at < 0) throw new Error(`${file}: no schema '${name}'`);
  const m = /```json\n([\s\S]*?)\n```/.exec(text.slice(at));
  if (!m) throw new Error(`${file}: schema '${name}' has no json block`);
  return JSON.parse(m[1]) as Schema;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Problems of `v` against `s` (empty when it conforms). */
export function validate(v: unknown, s: Schema, root: Schema = s, at = '$'): string[] {
  if (typeof s.$ref === 'string') {
    const name = s.$ref.replace('#/definitions/', '');
    const defs = root.definitions as Record<string, Schema>;
    if (!defs || !defs[name]) return [`${at}: unknown $ref ${s.$ref}`];
    return validate(v, defs[name], root, at);
  }
  const errs: string[] = [];
  if (s.oneOf) {
    const ok = (s.oneOf as Schema[]).filter((x) => validate(v, x, root, at).length === 0).length;
    if (ok !== 1) errs.push(`${at}: matches ${ok} of the oneOf alternatives`);
    return errs;
  }
  if (s.type) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    const t = typeOf(v);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number')))
      return [`${at}: ${t} is not ${types.join('|')}`];
  }
  if ('const' in s && v !== s.const)
    errs.push(`${at}: ${JSON.stringify(v)} is not ${JSON.stringify(s.const)}`);
  if (s.enum && !(s.enum as unknown[]).includes(v)) errs.push(`${at}: ${JSON.stringify(v)} not in enum`);
  if (typeOf(v) === 'object') {
    const o = v as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) if (!(r in o)) errs.push(`${at}: missing ${r}`);
    for (const [k, x] of Object.entries(o)) {
      if (props[k]) errs.push(...validate(x, props[k], root, `${at}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${at}: unexpected property ${k}`);
    }
  }
  if (Array.isArray(v) && s.items)
    v.forEach((x, i) => errs.push(...validate(x, s.items as Schema, root, `${at}[${i}]`)));
  return errs;
}
