/**
 * The connection options' rules, one home (postgres/options.ts): the password hidden wherever a
 * connection string is printed.
 */
import { describe, expect, it } from 'vitest';

import { redactConnectionString as fromSubpath } from '../src/postgres/index.js';
import { redactConnectionString } from '../src/postgres/options.js';

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
