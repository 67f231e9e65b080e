/**
 * A fast path for validating frames, compiled from the same zod schemas that define the
 * protocol (and from which the published JSON Schemas are generated), so there is still one
 * source of truth. zod's general machinery — a payload and an issue list per node, error
 * paths, async support — costs more than the engine on a 60 KB check; this walks the schema's
 * definition once and builds plain closures that do the same tests and build the same output.
 *
 * It answers only "valid, and here is exactly what zod would return" or "not sure": any value
 * it does not accept goes to zod itself, which then gives the real error (or, in a corner this
 * path is stricter about, the real result). Every check a schema carries — lengths, bounds,
 * formats, refinements, transforms — is run, the common ones inline with zod's arithmetic and
 * the rest through zod's own check objects, so a rule added to a schema applies here too; a
 * schema kind this file does not know is handed to zod whole.
 * `fast-parse.test.ts` compares the two on valid and hostile frames.
 */
import type { z } from 'zod';

/** What a compiled node returns when it cannot vouch for a value. */
const UNSURE: unique symbol = Symbol('unsure');
type NodeParser = (value: unknown) => unknown;

/** zod 4's internals that this compiler reads: the definition and the check objects. */
interface Internals {
  def: {
    type: string;
    checks?: Check[];
    shape?: Record<string, ZodNode>;
    catchall?: ZodNode;
    element?: ZodNode;
    options?: ZodNode[];
    innerType?: ZodNode;
    in?: ZodNode;
    out?: ZodNode;
    transform?: (value: unknown, payload: Payload) => unknown;
    readonly defaultValue?: unknown;
    coerce?: boolean;
  };
  traits: Set<string>;
  values?: Set<unknown>;
  optin?: 'optional' | 'defaulted';
  optout?: 'optional';
}
interface ZodNode {
  _zod: Internals;
  safeParse(value: unknown): { success: boolean; data?: unknown };
}
interface Payload {
  value: unknown;
  issues: unknown[];
}
interface Check {
  _zod: { def: { when?: (payload: Payload) => boolean }; check(payload: Payload): unknown };
}

/**
 * Compiles `schema` into a function that returns zod's output for a value zod accepts, or
 * `undefined` when the caller must ask zod (the value is invalid, or unusual enough that
 * this path leaves it to zod). For schemas whose output is never `undefined`.
 */
export function compileFastParser<Schema extends z.ZodType>(schema: Schema): (value: unknown) => z.output<Schema> | undefined {
  const parse = compileNode(schema as unknown as ZodNode);
  return (value) => {
    const result = parse(value);
    return result === UNSURE ? undefined : (result as z.output<Schema>);
  };
}

/**
 * `schema.safeParse`, taking the fast path where it vouches for the value and zod otherwise:
 * the same results, errors always zod's own.
 */
export function compileSafeParse<Schema extends z.ZodType>(schema: Schema): (value: unknown) => z.ZodSafeParseResult<z.output<Schema>> {
  const fast = compileFastParser(schema);
  return (value) => {
    const data = fast(value);
    return data === undefined ? schema.safeParse(value) : { success: true, data };
  };
}

function compileNode(node: ZodNode): NodeParser {
  const internals = node._zod;
  const { def } = internals;
  // A string format (an ISO date) is a schema and its own check at once, as zod runs it.
  const checks = [...(internals.traits.has('$ZodCheck') ? [node as unknown as Check] : []), ...(def.checks ?? [])];
  const base = def.coerce ? null : compileBase(node);
  if (!base) return viaZod(node);
  if (checks.length === 0) return base;
  const runChecks = compileChecks(checks);
  return (value) => {
    const parsed = base(value);
    return parsed === UNSURE ? UNSURE : runChecks(parsed);
  };
}

/** The node's own parse, without its checks; `null` for kinds left to zod. */
function compileBase(node: ZodNode): NodeParser | null {
  const { def, values } = node._zod;
  switch (def.type) {
    case 'string':
      return (value) => (typeof value === 'string' ? value : UNSURE);
    case 'number':
      return (value) => (typeof value === 'number' && Number.isFinite(value) ? value : UNSURE);
    case 'boolean':
      return (value) => (typeof value === 'boolean' ? value : UNSURE);
    case 'enum':
    case 'literal': {
      const allowed = values!;
      return (value) => (allowed.has(value) ? value : UNSURE);
    }
    case 'optional': {
      const inner = def.innerType!;
      // An optional around a defaulted schema substitutes the default; rare here, so zod's.
      if (inner._zod.optin === 'defaulted') return null;
      const parseInner = compileNode(inner);
      return (value) => (value === undefined ? undefined : parseInner(value));
    }
    case 'default': {
      const parseInner = compileNode(def.innerType!);
      return (value) => {
        // Read each time: zod's getter hands out a fresh copy of an array or object default.
        if (value === undefined) return def.defaultValue;
        const parsed = parseInner(value);
        return parsed === undefined ? def.defaultValue : parsed;
      };
    }
    case 'array': {
      const parseElement = compileNode(def.element!);
      return (value) => {
        if (!Array.isArray(value)) return UNSURE;
        const output = new Array<unknown>(value.length);
        for (let index = 0; index < value.length; index += 1) {
          const parsed = parseElement(value[index]);
          if (parsed === UNSURE) return UNSURE;
          output[index] = parsed;
        }
        return output;
      };
    }
    case 'object':
      // Strip mode, or strict (`catchall` never: any other key is an error); other catchalls are zod's.
      if (def.catchall && def.catchall._zod.def.type !== 'never') return null;
      return compileObject(def.shape!, def.catchall !== undefined);
    case 'union': {
      const discriminator = (def as { discriminator?: string }).discriminator;
      if (discriminator !== undefined) {
        // A discriminated union: the option whose literal the value carries, and only it.
        const byValue = new Map<unknown, NodeParser>();
        for (const option of def.options!) {
          const parse = compileNode(option);
          for (const value of option._zod.def.shape?.[discriminator]?._zod.values ?? []) byValue.set(value, parse);
        }
        return (value) => {
          if (typeof value !== 'object' || value === null) return UNSURE;
          const parse = byValue.get((value as Record<string, unknown>)[discriminator]);
          return parse ? parse(value) : UNSURE;
        };
      }
      const options = def.options!.map(compileNode);
      // zod takes the first option that accepts the value.
      return (value) => {
        for (const option of options) {
          const parsed = option(value);
          if (parsed !== UNSURE) return parsed;
        }
        return UNSURE;
      };
    }
    case 'pipe': {
      const left = compileNode(def.in!);
      const right = compileNode(def.out!);
      return (value) => {
        const parsed = left(value);
        return parsed === UNSURE ? UNSURE : right(parsed);
      };
    }
    case 'transform': {
      const transform = def.transform!;
      return (value) => {
        const payload = sharedPayload(value);
        const output = transform(value, payload);
        return payload.issues.length > 0 || output instanceof Promise ? UNSURE : output;
      };
    }
    default:
      return null;
  }
}

/**
 * An object: the shape's keys only, present and absent keys as zod treats them; `strict`
 * refuses any other key, as zod's `.strict()` does. Generated as source with the keys written
 * out, as zod's own object parser is, so that each property read is a monomorphic one instead
 * of a dictionary lookup by a variable key (a 200-entry history reads 2,000 of them). The keys
 * come from the schema, never from a frame.
 */
function compileObject(shape: Record<string, ZodNode>, strict: boolean): NodeParser {
  // zod never copies `__proto__` into its output, so neither does this.
  const keys = Object.keys(shape).filter((key) => key !== '__proto__');
  const parsers = keys.map((key) => compileNode(shape[key]!));
  const lines = keys.map((key, index) => {
    const { optin, optout } = shape[key]!._zod;
    const name = JSON.stringify(key);
    // zod asks `key in input`: an absent optional key stays absent in the output.
    const whenAbsent =
      optin === undefined ? 'return UNSURE;' : optin === 'optional' && optout === 'optional' ? null : 'present = false;';
    const keepUndefined = optin === 'defaulted' && optout !== 'optional' ? 'true' : 'present';
    return [
      whenAbsent === null ? `if (${name} in input) {` : `present = true; if (!(${name} in input)) { ${whenAbsent} } {`,
      `  value = parsers[${index}](input[${name}]);`,
      '  if (value === UNSURE) return UNSURE;',
      `  if (value !== undefined) output[${name}] = value;`,
      whenAbsent === null ? `  else output[${name}] = undefined;` : `  else if (${keepUndefined}) output[${name}] = undefined;`,
      '}',
    ].join('\n');
  });
  const body = [
    "if (typeof input !== 'object' || input === null || Array.isArray(input)) return UNSURE;",
    'const output = {};',
    'let value;',
    'let present;',
    ...lines,
    // zod walks the keys as `for…in` does, `__proto__` included, and refuses any it does not know.
    ...(strict ? ['for (const key in input) if (!known.has(key)) return UNSURE;'] : []),
    'return output;',
  ].join('\n');
  const known = new Set(Object.keys(shape));
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the schema's own keys
  return new Function('parsers', 'UNSURE', 'known', `return function parseObject(input) {\n${body}\n};`)(parsers, UNSURE, known) as NodeParser;
}

/**
 * A node's checks in order. The few kinds that every frame meets thousands of times (lengths,
 * numeric bounds, integers, trims) are tested inline, with the same arithmetic as zod's; any
 * other check is zod's own check object, run on a payload of the shape it expects.
 */
function compileChecks(checks: Check[]): NodeParser {
  const steps = checks.map(compileCheck);
  if (steps.length === 1) return steps[0]!;
  if (steps.length === 2) {
    const [first, second] = steps as [NodeParser, NodeParser];
    return (value) => {
      const checked = first(value);
      return checked === UNSURE ? UNSURE : second(checked);
    };
  }
  return (value) => {
    let current = value;
    for (const step of steps) {
      current = step(current);
      if (current === UNSURE) return UNSURE;
    }
    return current;
  };
}

function compileCheck(check: Check): NodeParser {
  const def = check._zod.def as Check['_zod']['def'] & {
    check?: string;
    minimum?: number;
    maximum?: number;
    value?: unknown;
    inclusive?: boolean;
    format?: string;
    tx?: (value: unknown) => unknown;
  };
  const generic = viaCheck(check);
  switch (def.check) {
    case 'min_length': {
      const minimum = def.minimum!;
      return (value) => {
        const length = (value as { length: number }).length;
        if (typeof value !== 'string') return length >= minimum ? value : UNSURE;
        // zod counts a string in code points, one or two UTF-16 units each: at least twice the
        // floor in units always clears it, fewer than the floor never does; between, zod counts.
        if (length >= minimum * 2 || (minimum <= 1 && length >= minimum)) return value;
        return length < minimum ? UNSURE : generic(value);
      };
    }
    case 'max_length': {
      const maximum = def.maximum!;
      return (value) => {
        const length = (value as { length: number }).length;
        if (length <= maximum) return value;
        return typeof value === 'string' ? generic(value) : UNSURE;
      };
    }
    case 'greater_than':
    case 'less_than': {
      if (typeof def.value !== 'number') return generic;
      const bound = def.value;
      const inclusive = def.inclusive === true;
      const above = def.check === 'greater_than';
      return (value) => {
        if (typeof value !== 'number') return generic(value);
        const within = above ? (inclusive ? value >= bound : value > bound) : inclusive ? value <= bound : value < bound;
        return within ? value : UNSURE;
      };
    }
    case 'string_format': {
      // A pattern format (a regex, an ISO date) is one `test`, as zod's own check does it.
      const pattern = (def as { pattern?: RegExp }).pattern;
      const format = def.format;
      if (!pattern || (format !== 'regex' && format !== 'date')) return generic;
      return (value) => {
        if (typeof value !== 'string') return UNSURE;
        pattern.lastIndex = 0;
        return pattern.test(value) ? value : UNSURE;
      };
    }
    case 'number_format':
      return def.format === 'safeint' ? (value) => (Number.isSafeInteger(value) ? value : UNSURE) : generic;
    case 'overwrite': {
      const transform = def.tx!;
      return (value) => transform(value);
    }
    default:
      return generic;
  }
}

/** zod's own check object, run as zod runs it; any issue means "ask zod". */
function viaCheck(check: Check): NodeParser {
  const { when } = check._zod.def;
  return (value) => {
    const payload = sharedPayload(value);
    if (when && !when(payload)) return value;
    const outcome = check._zod.check(payload);
    return outcome instanceof Promise || payload.issues.length > 0 ? UNSURE : payload.value;
  };
}

/**
 * One payload for every transform and check this file runs: they run one at a time, never
 * nested, and read it only while they run; a payload per call was most of this path's garbage.
 */
const payload: Payload = { value: undefined, issues: [] };
function sharedPayload(value: unknown): Payload {
  payload.value = value;
  payload.issues.length = 0;
  return payload;
}

/** A kind this compiler leaves to zod: exact, at zod's speed, for that subtree only. */
function viaZod(node: ZodNode): NodeParser {
  return (value) => {
    const result = node.safeParse(value);
    return result.success ? result.data : UNSURE;
  };
}
