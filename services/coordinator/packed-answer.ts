/**
 * Answers as the request log keeps them for retries, packed: slot ids and
 * counts as runs (a SwapOut's slots are mostly consecutive ids, a Free's
 * counts mostly one value), tier names as one character each. A remembered
 * answer holds up to 512 of each for ten minutes, and as plain arrays (8 B an
 * element, plus the array objects) they cost more heap than the slots they
 * name in the slot table. unpackAnswer(packAnswer(v)) deep-equals v for every
 * JSON-like value; only arrays of integers and of strings are packed, the rest
 * is kept as it is.
 */

/** Integers as runs: (first, step, length) triples; element i of a run is first + i * step. */
class Runs {
  constructor(readonly triples: readonly number[]) {}
}

/** Strings as one character each: the string's index in the shared dictionary. */
class Codes {
  constructor(readonly codes: string) {}
}

/** Strings seen in answers (tier names), by code; at most 256, then strings are kept as they are. */
const dictionary: string[] = [];
const codeOf = new Map<string, number>();
const MAX_CODES = 256;

function encodeStrings(a: readonly string[]): Codes | undefined {
  let out = '';
  for (const s of a) {
    let code = codeOf.get(s);
    if (code === undefined) {
      if (dictionary.length >= MAX_CODES) return undefined;
      code = dictionary.length;
      dictionary.push(s);
      codeOf.set(s, code);
    }
    out += String.fromCharCode(code);
  }
  return new Codes(out);
}

/** Runs when they are shorter than the array; undefined otherwise. */
function encodeIntegers(a: readonly number[]): Runs | undefined {
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
  return new Runs(triples);
}

function packArray(a: readonly unknown[]): unknown {
  if (a.length < 4) return a;
  if (a.every((x) => typeof x === 'string')) return encodeStrings(a as string[]) ?? a;
  if (a.every((x) => Number.isSafeInteger(x))) return encodeIntegers(a as number[]) ?? a;
  return a;
}

function unpackField(v: unknown): unknown {
  if (v instanceof Runs) {
    const out: number[] = [];
    const t = v.triples;
    for (let k = 0; k < t.length; k += 3) {
      const first = t[k]!;
      const step = t[k + 1]!;
      for (let i = 0; i < t[k + 2]!; i++) out.push(first + i * step);
    }
    return out;
  }
  if (v instanceof Codes) {
    const out = new Array<string>(v.codes.length);
    for (let i = 0; i < out.length; i++) out[i] = dictionary[v.codes.charCodeAt(i)]!;
    return out;
  }
  return v;
}

/** The answer in the form the request log keeps: arrays (at the top level or as fields) packed. */
export function packAnswer(value: unknown): unknown {
  if (Array.isArray(value)) return packArray(value);
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = Array.isArray(v) ? packArray(v) : v;
  return out;
}

/** A fresh copy of the answer packAnswer was given. */
export function unpackAnswer(packed: unknown): unknown {
  if (packed instanceof Runs || packed instanceof Codes) return unpackField(packed);
  if (packed === null || typeof packed !== 'object' || Array.isArray(packed)) return packed;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(packed)) out[k] = unpackField(v);
  return out;
}
