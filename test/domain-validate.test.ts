import { describe, expect, it } from 'vitest';

import { ImmutableFieldError, ValidationError } from '../src/errors.js';
import {
  IMMUTABLE_FIELDS,
  validateCloseInput,
  validateLogShape,
  validateOpenInput,
  validatePartialInput,
  validatePatch,
} from '../src/domain/validate.js';

const LONG = {
  symbol: 'BTC',
  direction: 'LONG',
  entry_price: 65000,
  stop_price: 63500,
  target_price: 68000,
  size: 0.02,
} as const;
const SHORT = { ...LONG, symbol: 'ETH', direction: 'SHORT', entry_price: 3000, stop_price: 3100, target_price: 2700 } as const;

/** Runs fn, expects a ValidationError on `field` whose message names field and value. */
function refused(fn: () => unknown, field: string, valueText: string): ValidationError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  const err = caught as ValidationError;
  expect(err.code).toBe('EVALIDATION');
  expect(err.field).toBe(field);
  expect(err.message).toContain(field);
  expect(err.message).toContain(valueText);
  return err;
}

describe('validateOpenInput', () => {
  it('accepts a valid LONG and SHORT and returns only known fields', () => {
    expect(validateOpenInput(LONG)).toEqual(LONG);
    expect(validateOpenInput(SHORT)).toEqual(SHORT);
    const full = { ...LONG, setup_type: 'RSI_Div', grade: 'A', notes: null, client_id: 'scan-1' };
    expect(validateOpenInput(full)).toEqual(full);
  });

  it('treats optional fields given as undefined as absent', () => {
    const out = validateOpenInput({ ...LONG, notes: undefined, client_id: undefined });
    expect(Object.keys(out)).not.toContain('notes');
    expect(Object.keys(out)).not.toContain('client_id');
  });

  for (const field of ['entry_price', 'stop_price', 'target_price', 'size'] as const) {
    describe(field, () => {
      const cases: [unknown, string][] = [
        [NaN, 'NaN'],
        [Infinity, 'Infinity'],
        [-Infinity, '-Infinity'],
        ['500', '"500"'],
        [-1, '-1'],
        [0, '0'],
        [null, 'null'],
        [undefined, 'undefined'],
        [true, 'true'],
        [{ value: 5 }, '{"value":5}'],
      ];
      for (const [value, text] of cases) {
        it(`refuses ${text}`, () => {
          refused(() => validateOpenInput({ ...LONG, [field]: value }), field, text);
        });
      }
    });
  }

  it('refuses a stop on the wrong side of entry, or at entry', () => {
    refused(() => validateOpenInput({ ...LONG, stop_price: 66000 }), 'stop_price', '66000');
    refused(() => validateOpenInput({ ...LONG, stop_price: 65000 }), 'stop_price', '65000');
    refused(() => validateOpenInput({ ...SHORT, stop_price: 2900 }), 'stop_price', '2900');
    refused(() => validateOpenInput({ ...SHORT, stop_price: 3000 }), 'stop_price', '3000');
  });

  it('refuses a target on the wrong side of entry, or at entry', () => {
    refused(() => validateOpenInput({ ...LONG, target_price: 64000 }), 'target_price', '64000');
    refused(() => validateOpenInput({ ...LONG, target_price: 65000 }), 'target_price', '65000');
    refused(() => validateOpenInput({ ...SHORT, target_price: 3200 }), 'target_price', '3200');
    refused(() => validateOpenInput({ ...SHORT, target_price: 3000 }), 'target_price', '3000');
  });

  it('refuses an unknown direction, including other spellings', () => {
    const cases: [unknown, string][] = [
      ['long', '"long"'],
      ['BUY', '"BUY"'],
      ['', '""'],
      [null, 'null'],
      [undefined, 'undefined'],
      [1, '1'],
    ];
    for (const [d, text] of cases) refused(() => validateOpenInput({ ...LONG, direction: d }), 'direction', text);
  });

  it('refuses an empty, blank, padded or non-string symbol', () => {
    refused(() => validateOpenInput({ ...LONG, symbol: '' }), 'symbol', '""');
    refused(() => validateOpenInput({ ...LONG, symbol: '   ' }), 'symbol', '"   "');
    refused(() => validateOpenInput({ ...LONG, symbol: 'BTC ' }), 'symbol', '"BTC "');
    refused(() => validateOpenInput({ ...LONG, symbol: 42 }), 'symbol', '42');
    refused(() => validateOpenInput({ ...LONG, symbol: undefined }), 'symbol', 'undefined');
  });

  it('refuses unknown keys (typo protection)', () => {
    refused(() => validateOpenInput({ ...LONG, stop_prise: 63000 }), 'stop_prise', '63000');
  });

  it('refuses non-string optional text and a blank client_id', () => {
    refused(() => validateOpenInput({ ...LONG, notes: 5 }), 'notes', '5');
    refused(() => validateOpenInput({ ...LONG, grade: ['A'] }), 'grade', '["A"]');
    refused(() => validateOpenInput({ ...LONG, client_id: '' }), 'client_id', '""');
    refused(() => validateOpenInput({ ...LONG, client_id: 7 }), 'client_id', '7');
  });

  it('refuses a non-object input', () => {
    for (const v of [null, undefined, 'BTC', [LONG], 42]) {
      expect(() => validateOpenInput(v)).toThrow(ValidationError);
    }
    expect(() => validateOpenInput(new Date())).toThrow(ValidationError);
  });
});

describe('validateCloseInput', () => {
  it('accepts exit_price with optional reason and lessons', () => {
    expect(validateCloseInput({ exit_price: 68000 })).toEqual({ exit_price: 68000 });
    expect(validateCloseInput({ exit_price: 1, exit_reason: 'target', lessons: null })).toEqual({
      exit_price: 1,
      exit_reason: 'target',
      lessons: null,
    });
  });

  it('refuses bad exit prices', () => {
    refused(() => validateCloseInput({ exit_price: NaN }), 'exit_price', 'NaN');
    refused(() => validateCloseInput({ exit_price: Infinity }), 'exit_price', 'Infinity');
    refused(() => validateCloseInput({ exit_price: '500' }), 'exit_price', '"500"');
    refused(() => validateCloseInput({ exit_price: -5 }), 'exit_price', '-5');
    refused(() => validateCloseInput({ exit_price: 0 }), 'exit_price', '0');
    refused(() => validateCloseInput({}), 'exit_price', 'undefined');
  });

  it('refuses non-string reason/lessons and unknown keys', () => {
    refused(() => validateCloseInput({ exit_price: 1, exit_reason: 3 }), 'exit_reason', '3');
    refused(() => validateCloseInput({ exit_price: 1, lessons: {} }), 'lessons', '{}');
    refused(() => validateCloseInput({ exit_price: 1, exitReason: 'x' }), 'exitReason', '"x"');
  });
});

describe('validatePartialInput', () => {
  it('accepts a fraction strictly inside (0, 1)', () => {
    expect(validatePartialInput({ fraction: 0.5, exit_price: 10 })).toEqual({ fraction: 0.5, exit_price: 10 });
    expect(validatePartialInput({ fraction: 0.999, exit_price: 10, reason: 'tp1' }).reason).toBe('tp1');
  });

  for (const [f, text] of [
    [0, '0'],
    [1, '1'],
    [1.5, '1.5'],
    [-0.5, '-0.5'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    ['0.5', '"0.5"'],
  ] as const) {
    it(`refuses fraction ${text}`, () => {
      refused(() => validatePartialInput({ fraction: f, exit_price: 10 }), 'fraction', text);
    });
  }

  it('refuses a bad exit price and a bad reason', () => {
    refused(() => validatePartialInput({ fraction: 0.5, exit_price: 0 }), 'exit_price', '0');
    refused(() => validatePartialInput({ fraction: 0.5, exit_price: 10, reason: 1 }), 'reason', '1');
  });
});

describe('validatePatch', () => {
  it('accepts mutable fields, a stop past entry, and extension fields', () => {
    const patch = {
      stop_price: 70000,
      target_price: 80000,
      notes: 'trail',
      grade: null,
      setup_type: 'Breakout',
      lessons: 'x',
      tags: ['a', { b: [1, null, true] }],
      mfe: 1.5,
    };
    expect(validatePatch(patch)).toEqual(patch);
    expect(validatePatch({})).toEqual({});
  });

  it('returns a copy detached from the caller’s object', () => {
    const ext = { a: [1] };
    const out = validatePatch({ ext });
    ext.a.push(2);
    expect(out).toEqual({ ext: { a: [1] } });
  });

  for (const field of IMMUTABLE_FIELDS) {
    it(`refuses owned field ${field} with EIMMUTABLEFIELD`, () => {
      let caught: unknown;
      try {
        validatePatch({ notes: 'ok', [field]: 1 });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ImmutableFieldError);
      expect((caught as ImmutableFieldError).code).toBe('EIMMUTABLEFIELD');
      expect((caught as ImmutableFieldError).field).toBe(field);
      expect((caught as Error).message).toContain(field);
    });
  }

  it('lists every owned field of SPEC §3', () => {
    expect([...IMMUTABLE_FIELDS].sort()).toEqual(
      [
        'id', 'symbol', 'direction', 'status', 'entry_price', 'entry_time', 'original_stop', 'size', 'original_size',
        'partial_exits', 'exit_price', 'exit_time', 'exit_reason', 'pnl_usd', 'pnl_pct', 'r_multiple', 'client_id',
      ].sort(),
    );
  });

  it('refuses bad stop/target values', () => {
    refused(() => validatePatch({ stop_price: NaN }), 'stop_price', 'NaN');
    refused(() => validatePatch({ stop_price: '63000' }), 'stop_price', '"63000"');
    refused(() => validatePatch({ stop_price: 0 }), 'stop_price', '0');
    refused(() => validatePatch({ target_price: -1 }), 'target_price', '-1');
    refused(() => validatePatch({ target_price: null }), 'target_price', 'null');
  });

  it('refuses non-string text fields', () => {
    refused(() => validatePatch({ notes: 5 }), 'notes', '5');
    refused(() => validatePatch({ lessons: undefined }), 'lessons', 'undefined');
  });

  it('refuses non-JSON extension values, naming the path', () => {
    refused(() => validatePatch({ ext: () => 1 }), 'ext', 'ext');
    refused(() => validatePatch({ ext: undefined }), 'ext', 'undefined');
    refused(() => validatePatch({ ext: NaN }), 'ext', 'NaN');
    refused(() => validatePatch({ ext: { deep: [1, Infinity] } }), 'ext.deep[1]', 'Infinity');
    refused(() => validatePatch({ ext: { deep: { u: undefined } } }), 'ext.deep.u', 'undefined');
    refused(() => validatePatch({ ext: 10n }), 'ext', 'ext');
    refused(() => validatePatch({ ext: Symbol('s') }), 'ext', 'ext');
    refused(() => validatePatch({ ext: new Date(0) }), 'ext', 'ext');
    refused(() => validatePatch({ ext: new Map() }), 'ext', 'ext');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    refused(() => validatePatch({ ext: cyclic }), 'ext.self', 'circular');
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(validatePatch({ ext: [shared, shared] })).toEqual({ ext: [{ x: 1 }, { x: 1 }] });
  });

  it('refuses a patch that is not a plain object', () => {
    for (const v of [null, undefined, [], 'x', 3, new Map()]) {
      const err = refused(() => validatePatch(v), 'patch', 'patch');
      expect(err.value).toBe(v);
    }
  });
});

describe('validateLogShape', () => {
  const trade = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: 'T001',
    symbol: 'BTC',
    direction: 'LONG',
    entry_price: 65000,
    stop_price: 63500,
    size: 0.02,
    status: 'OPEN',
    ...over,
  });

  it('accepts an empty log and what Python writes (ints, nulls, extras, missing optionals)', () => {
    expect(validateLogShape({ trades: [], next_id: 1 })).toBeNull();
    const python = {
      trades: [
        trade({ original_stop: null, target_price: null, exit_price: null, pnl_usd: null, extra: { x: 1 } }),
        trade({ id: 'T002', status: 'CLOSED', exit_price: 68000, pnl_usd: 60, partial_exits: [{ pnl_usd: 5, reason: null }] }),
        trade({ id: 'T003', status: 'WEIRD', direction: 'sideways', entry_price: null }),
        trade({ id: 'T003', partial_exits: null, symbol: 'ETH' }),
      ],
      next_id: 4,
      schema: 'v1',
    };
    expect(validateLogShape(python)).toBeNull();
  });

  it('does not treat duplicate ids as a shape error (integrity reports them)', () => {
    expect(validateLogShape({ trades: [trade(), trade()], next_id: 2 })).toBeNull();
  });

  const bad: [string, unknown, string][] = [
    ['top level array', [], 'not a JSON object'],
    ['null', null, 'not a JSON object'],
    ['missing trades', { next_id: 1 }, 'trades is missing'],
    ['trades not array', { trades: {}, next_id: 1 }, 'trades is not an array'],
    ['missing next_id', { trades: [] }, 'next_id'],
    ['float next_id', { trades: [], next_id: 1.5 }, 'next_id'],
    ['negative next_id', { trades: [], next_id: -1 }, 'next_id'],
    ['string next_id', { trades: [], next_id: '3' }, 'next_id'],
    ['trade not object', { trades: [trade(), 5], next_id: 3 }, 'trades[1] is not an object'],
    ['no id', { trades: [trade({ id: undefined })], next_id: 3 }, 'trades[0] has no string id'],
    ['numeric id', { trades: [trade({ id: 1 })], next_id: 3 }, 'trades[0] has no string id'],
    ['no symbol', { trades: [trade({ symbol: undefined })], next_id: 3 }, 'symbol'],
    ['no status', { trades: [trade({ status: null })], next_id: 3 }, 'status'],
    ['string price', { trades: [trade({ status: 'CLOSED', pnl_usd: '60' })], next_id: 3 }, 'pnl_usd'],
    ['OPEN null entry', { trades: [trade({ entry_price: null })], next_id: 3 }, 'entry_price'],
    ['OPEN zero size', { trades: [trade({ size: 0 })], next_id: 3 }, 'size'],
    ['OPEN missing stop', { trades: [trade({ stop_price: undefined })], next_id: 3 }, 'stop_price'],
    ['OPEN bad direction', { trades: [trade({ direction: 'long' })], next_id: 3 }, 'direction'],
    ['partial_exits object', { trades: [trade({ partial_exits: {} })], next_id: 3 }, 'partial_exits'],
    ['partial without pnl', { trades: [trade({ partial_exits: [{ exit_price: 1 }] })], next_id: 3 }, 'partial_exits[0]'],
    ['NaN in memory', { trades: [trade({ original_stop: NaN })], next_id: 3 }, 'original_stop'],
  ];
  for (const [name, data, reason] of bad) {
    it(`refuses ${name}`, () => {
      const r = validateLogShape(data);
      expect(r).not.toBeNull();
      expect(r).toContain(reason);
    });
  }

  it('names the trade id in per-trade reasons', () => {
    expect(validateLogShape({ trades: [trade({ id: 'T042', size: -1 })], next_id: 43 })).toContain('T042');
  });
});
