/**
 * A validator for ASFF records built from the Security Hub API model itself: botocore's
 * securityhub/2018-10-26/service-2.json.gz in the test virtualenv (.venv, boto3/botocore pinned in
 * requirements-dev.txt). It walks AwsSecurityFinding recursively and checks what the model says:
 * required members, no unknown members, member types, enums, the NonEmptyString pattern, min/max
 * traits, and the limits the model states only in member documentation ("Maximum length of 256",
 * "Maximum of 512 length", "Length Constraints: 12", "Maximum number of 32 items", "up to 50
 * key-value pairs", "key ... up to 128 characters, and the value ... up to 2048 characters").
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

interface ShapeRef {
  shape: string;
  documentation?: string;
}
interface Shape {
  type: string;
  required?: string[];
  members?: Record<string, ShapeRef>;
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  enum?: string[];
  pattern?: string;
  min?: number;
  max?: number;
}

/** Limits of one member, from its documentation. */
interface DocLimits {
  minLength?: number;
  maxLength?: number;
  exactLength?: number;
  minItems?: number;
  maxItems?: number;
  maxPairs?: number;
  maxKey?: number;
  maxValue?: number;
}

export function findModel(root: string): string {
  const lib = path.join(root, '.venv', 'lib');
  for (const py of readdirSync(lib)) {
    const dir = path.join(lib, py, 'site-packages', 'botocore', 'data', 'securityhub', '2018-10-26', 'service-2.json.gz');
    try {
      readFileSync(dir, { flag: 'r' });
      return dir;
    } catch {
      // next Python version
    }
  }
  throw new Error(`botocore's securityhub model is not in ${lib} (run scripts/venv.sh)`);
}

export function docLimits(doc: string | undefined): DocLimits {
  const text = (doc ?? '').replace(/<[^>]+>/g, '');
  const n = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const limits: DocLimits = {};
  const set = <K extends keyof DocLimits>(k: K, v: number | undefined) => {
    if (v !== undefined) limits[k] = v;
  };
  set('minLength', n(/Minimum length of (\d+)/) ?? n(/Minimum of (\d+) length/));
  set('maxLength', n(/Maximum length of (\d+)/) ?? n(/Maximum of (\d+) length/));
  set('exactLength', n(/Length Constraints: (\d+)\./));
  set('minItems', n(/Minimum number of (\d+) item/));
  set('maxItems', n(/Maximum number of (\d+) item/));
  set('maxPairs', n(/up to (\d+) key-value pairs/));
  set('maxKey', n(/key can contain up to (\d+) characters/) ?? n(/key[^.]*?up to (\d+) characters/));
  set('maxValue', n(/value can contain up to (\d+) characters/));
  return limits;
}

export class AsffModel {
  readonly shapes: Record<string, Shape>;

  constructor(file: string) {
    this.shapes = (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { shapes: Record<string, Shape> }).shapes;
  }

  /** Every violation of the model in `value` as an AwsSecurityFinding (empty = valid). */
  validate(value: unknown, shape = 'AwsSecurityFinding'): string[] {
    const errors: string[] = [];
    this.check(value, { shape }, shape, errors);
    return errors;
  }

  private check(value: unknown, ref: ShapeRef, at: string, errors: string[]): void {
    const shape = this.shapes[ref.shape];
    if (!shape) {
      errors.push(`${at}: unknown shape ${ref.shape}`);
      return;
    }
    const limits = docLimits(ref.documentation);
    const fail = (why: string): void => {
      errors.push(`${at}: ${why}`);
    };
    switch (shape.type) {
      case 'structure': {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail('expected an object');
        const obj = value as Record<string, unknown>;
        for (const r of shape.required ?? []) if (obj[r] === undefined) fail(`required member ${r} missing`);
        for (const [k, v] of Object.entries(obj)) {
          const member = shape.members?.[k];
          if (!member) fail(`unknown member ${k}`);
          else if (v !== undefined) this.check(v, member, `${at}.${k}`, errors);
        }
        return;
      }
      case 'list': {
        if (!Array.isArray(value)) return fail('expected a list');
        const min = shape.min ?? limits.minItems;
        const max = shape.max ?? limits.maxItems;
        if (min !== undefined && value.length < min) fail(`${value.length} items, at least ${min}`);
        if (max !== undefined && value.length > max) fail(`${value.length} items, at most ${max}`);
        value.forEach((v, i) => this.check(v, shape.member as ShapeRef, `${at}[${i}]`, errors));
        return;
      }
      case 'map': {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail('expected a map');
        const entries = Object.entries(value as Record<string, unknown>);
        if (limits.maxPairs !== undefined && entries.length > limits.maxPairs) fail(`${entries.length} pairs, at most ${limits.maxPairs}`);
        for (const [k, v] of entries) {
          this.check(k, shape.key as ShapeRef, `${at} key ${JSON.stringify(k)}`, errors);
          this.check(v, shape.value as ShapeRef, `${at}[${JSON.stringify(k)}]`, errors);
          if (limits.maxKey !== undefined && Array.from(k).length > limits.maxKey) fail(`key ${JSON.stringify(k)} longer than ${limits.maxKey}`);
          if (limits.maxValue !== undefined && typeof v === 'string' && Array.from(v).length > limits.maxValue) fail(`value of ${JSON.stringify(k)} longer than ${limits.maxValue}`);
        }
        return;
      }
      case 'string': {
        if (typeof value !== 'string') return fail(`expected a string, got ${typeof value}`);
        const length = Array.from(value).length;
        if (shape.enum && !shape.enum.includes(value)) fail(`${JSON.stringify(value)} is not one of ${shape.enum.join(', ')}`);
        if (shape.pattern && !new RegExp(`^(?:${shape.pattern})$`, 's').test(value)) fail(`${JSON.stringify(value.slice(0, 40))} does not match ${shape.pattern}`);
        const min = shape.min ?? limits.minLength;
        const max = shape.max ?? limits.maxLength;
        if (min !== undefined && length < min) fail(`length ${length}, at least ${min}`);
        if (max !== undefined && length > max) fail(`length ${length}, at most ${max}`);
        if (limits.exactLength !== undefined && length !== limits.exactLength) fail(`length ${length}, exactly ${limits.exactLength}`);
        return;
      }
      case 'integer':
      case 'long':
        if (typeof value !== 'number' || !Number.isInteger(value)) return fail('expected an integer');
        if (shape.min !== undefined && value < shape.min) fail(`${value} < ${shape.min}`);
        if (shape.max !== undefined && value > shape.max) fail(`${value} > ${shape.max}`);
        return;
      case 'double':
      case 'float':
        if (typeof value !== 'number') fail('expected a number');
        return;
      case 'boolean':
        if (typeof value !== 'boolean') fail('expected a boolean');
        return;
      default:
        fail(`unhandled shape type ${shape.type}`);
    }
  }
}
