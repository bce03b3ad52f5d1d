/**
 * The connection options' two rules, one home each (postgres/options.ts): the check that they
 * name a server, and the password hidden wherever a connection string is printed.
 */
import { describe, expect, it } from 'vitest';

import { redactConnectionString as fromSubpath } from '../src/postgres/index.js';
import { checkConnectionOptions, redactConnectionString } from '../src/postgres/options.js';

describe('redactConnectionString: the password shown as ***, the rest as given', () => {
  it('masks the userinfo password and a password parameter', () => {
    expect(redactConnectionString('postgres://bot:s3cret@db.example:5432/trading')).toBe('postgres://bot:***@db.example:5432/trading');
    expect(redactConnectionString('postgres://bot@db.example/trading?password=s3cret&sslmode=require')).toBe(
      'postgres://bot@db.example/trading?password=***&sslmode=require',
    );
    expect(redactConnectionString('postgres://bot:p%40ss@h/db')).toBe('postgres://bot:***@h/db');
  });

  it('leaves a string without a password as it is', () => {
    expect(redactConnectionString('postgres://bot@db.example:5432/trading')).toBe('postgres://bot@db.example:5432/trading');
    expect(redactConnectionString('postgres://db.example/trading')).toBe('postgres://db.example/trading');
  });

  it('masks by pattern what the URL parser refuses: no host, a raw "@" in the password, key=value', () => {
    expect(redactConnectionString('postgres://bot:pw@/db?host=/run/postgresql')).toBe('postgres://bot:***@/db?host=/run/postgresql');
    expect(redactConnectionString('postgres://bot:a@b@/db')).toBe('postgres://bot:***@/db');
    expect(redactConnectionString("host=db user=bot password='two words' dbname=x")).toBe('host=db user=bot password=*** dbname=x');
    expect(redactConnectionString('host=db password=s3cret')).toBe('host=db password=***');
  });

  it('is the one the postgres subpath exports (the demo prints through it)', () => {
    expect(fromSubpath).toBe(redactConnectionString);
  });
});

describe('checkConnectionOptions', () => {
  it('takes a connection string or pool options', () => {
    expect(() => checkConnectionOptions({ connectionString: 'postgres://h/db' })).not.toThrow();
    expect(() => checkConnectionOptions({ pool: { host: 'h' } })).not.toThrow();
  });

  it('refuses an empty or non-string connection string, naming the field and value', () => {
    for (const bad of ['', 42, null]) {
      expect(() => checkConnectionOptions({ connectionString: bad })).toThrow(
        expect.objectContaining({ code: 'EVALIDATION', field: 'connectionString', value: bad, message: expect.stringMatching(/must be a postgres:\/\/ URL/) }),
      );
    }
  });

  it('refuses options naming no server, saying what else may be given', () => {
    expect(() => checkConnectionOptions({})).toThrow(/connectionString.*is required \(or pool, node-postgres pool options\)/);
    expect(() => checkConnectionOptions({}, 'pool: a pg.Pool or node-postgres pool options')).toThrow(/or pool: a pg\.Pool/);
  });
});
