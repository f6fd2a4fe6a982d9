/**
 * Answers as the request log keeps them for retries, packed into one string:
 * slot ids and counts as runs (a SwapOut's slots are mostly consecutive ids, a
 * Free's counts mostly one value), tier names as one character each. A
 * remembered answer holds up to 512 of each for ten minutes, and as arrays (8
 * B an element, plus the array and answer objects) they cost more heap than the
 * slots they name in the slot table; an answer of one slot would cost more
 * than its slot's owner.
 *
 * unpackAnswer(packAnswer(v)) deep-equals v. Only arrays, and objects whose
 * fields are primitives or arrays of primitives, are packed (every answer the
 * service remembers); any other value is kept as it is.
 */

/**
 * The packed form is a string: JSON of [0, field] for an array answer, [1,
 * {key: field}] for an object answer, [2, string] for a string answer (so
 * that every string in an answer's place is a packed one). A string, not an
 * object holding one: entries are many, and a wrapper is 32 B more each.
 */
function packed(json: string): string {
  return flatString(json);
}

/**
 * The string as one flat piece. V8 may hand back a concatenation (JSON.stringify's
 * result, a template literal) as a tree of pieces: kept for minutes, as the
 * request log keeps keys and answers, that is two more heap objects (and
 * ~50 B) an entry for every garbage collection to mark, and it keeps the
 * pieces' sources alive. The JSON round trip gives back any string exactly.
 */
export function flatString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/**
 * Strings seen in answers (tier names), by code; the code's character is
 * CODE_BASE + code, from '0' up to '[' (nothing JSON escapes). At most
 * MAX_CODES strings, then string arrays are kept as they are.
 */
const dictionary: string[] = [];
const codeOf = new Map<string, number>();
const CODE_BASE = 0x30;
const MAX_CODES = 0x5c - CODE_BASE;

/** A value JSON gives back exactly. */
function isExact(x: unknown): boolean {
  if (typeof x === 'number') return Number.isFinite(x) && !Object.is(x, -0);
  return typeof x === 'string' || typeof x === 'boolean' || x === null;
}

/** Integers as (first, step, length) triples, element i of a run being first + i * step; undefined when not shorter. */
function runs(a: readonly number[]): number[] | undefined {
  const triples: number[] = [];
  let i = 0;
  while (i < a.length) {
    const first = a[i]!;
    const step = i + 1 < a.length ? a[i + 1]! - first : 0;
    let n = 1;
    while (i + n < a.length && a[i + n]! - a[i + n - 1]! === step) n++;
    triples.push(first, step, n);
    if (triples.length >= a.length) return undefined;
    i += n;
  }
  return triples;
}

function codes(a: readonly string[]): string | undefined {
  let out = '';
  for (const s of a) {
    let code = codeOf.get(s);
    if (code === undefined) {
      if (dictionary.length >= MAX_CODES) return undefined;
      code = dictionary.length;
      dictionary.push(s);
      codeOf.set(s, code);
    }
    out += String.fromCharCode(CODE_BASE + code);
  }
  return out;
}

/** An array as it goes into the JSON: {r: runs}, {c: codes}, or itself; undefined if it cannot be packed. */
function packArray(a: readonly unknown[]): unknown {
  if (!a.every(isExact)) return undefined;
  if (a.length > 0 && a.every((x) => typeof x === 'string')) {
    const c = codes(a as string[]);
    if (c !== undefined) return { c };
  }
  if (a.length > 3 && a.every((x) => Number.isSafeInteger(x))) {
    const r = runs(a as number[]);
    if (r !== undefined) return { r };
  }
  return a;
}

function unpackField(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const f = v as { r?: number[]; c?: string };
  if (f.r !== undefined) {
    const out: number[] = [];
    const t = f.r;
    for (let k = 0; k < t.length; k += 3) {
      const first = t[k]!;
      const step = t[k + 1]!;
      for (let i = 0; i < t[k + 2]!; i++) out.push(first + i * step);
    }
    return out;
  }
  const c = f.c!;
  const out = new Array<string>(c.length);
  for (let i = 0; i < c.length; i++) out[i] = dictionary[c.charCodeAt(i) - CODE_BASE]!;
  return out;
}

/** The answer in the form the request log keeps. */
export function packAnswer(value: unknown): unknown {
  if (typeof value === 'string') return packed(JSON.stringify([2, value]));
  if (Array.isArray(value)) {
    const field = packArray(value);
    return field === undefined ? value : packed(JSON.stringify([0, field]));
  }
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const field = Array.isArray(v) ? packArray(v) : isExact(v) ? v : undefined;
    if (field === undefined) return value;
    fields[k] = field;
  }
  return packed(JSON.stringify([1, fields]));
}

/** A fresh copy of the answer packAnswer was given (or the value itself, if it was kept as it is). */
export function unpackAnswer(packed: unknown): unknown {
  if (typeof packed !== 'string') return packed;
  const [kind, shaped] = JSON.parse(packed) as [0 | 1 | 2, unknown];
  if (kind === 2) return shaped;
  if (kind === 0) return unpackField(shaped);
  return Object.fromEntries(Object.entries(shaped as Record<string, unknown>).map(([k, v]) => [k, unpackField(v)]));
}
