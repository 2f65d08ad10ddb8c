// Node.js drivers and ORMs against a server at 127.0.0.1:PGPORT (PGUSER, PGDATABASE):
// node-postgres, Knex (schema builder, migrations), Sequelize (sync with alter, associations,
// upsert, query interface) and TypeORM (synchronize, relations, query builder). Every check
// asserts what PostgreSQL 15 returns, so the script passes against PostgreSQL too.
//   node smoke.js [GROUP]        run by scripts/orm-smoke.sh, which installs package.json's
//                                pinned packages into target/orm-node
const assert = require('assert');
const port = +process.env.PGPORT, user = process.env.PGUSER || 'oxibase', database = process.env.PGDATABASE || 'oxibase';
const conn = { host: '127.0.0.1', port, user, database };
const groups = {};
async function group(name, fn) {
  try { await fn(); console.log(`ok   ${name}`); }
  catch (e) {
    const cause = e.parent || e.original || e.driverError;
    const detail = cause ? `\n  server said: ${cause.message} (${cause.code})\n  sql: ${e.sql || e.query || cause.sql || ''}` : '';
    console.log(`FAIL ${name}: ${e.stack || e}${detail}`); groups[name] = e;
  }
}

async function pgDriver() {
  const { Pool } = require('pg');
  const pool = new Pool(conn);
  await pool.query('drop table if exists js_items');
  await pool.query('create table js_items (id bigserial primary key, name text not null, price numeric(10,2), tags text[], meta jsonb, at timestamptz default now(), data bytea)');
  const r = await pool.query('insert into js_items (name, price, tags, meta, data) values ($1, $2, $3, $4, $5) returning *',
    ['a', '12.50', ['x', 'y'], { k: 1 }, Buffer.from([1, 2, 3])]);
  const row = r.rows[0];
  assert.strictEqual(row.id, '1');
  assert.strictEqual(row.price, '12.50');
  assert.deepStrictEqual(row.tags, ['x', 'y']);
  assert.deepStrictEqual(row.meta, { k: 1 });
  assert.ok(row.at instanceof Date);
  assert.deepStrictEqual([...row.data], [1, 2, 3]);
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('insert into js_items (name) values ($1)', ['b']);
    await client.query('rollback');
  } finally { client.release(); }
  const c = await pool.query('select count(*)::int as n from js_items');
  assert.strictEqual(c.rows[0].n, 1);
  await assert.rejects(pool.query('select * from nope'), e => e.code === '42P01');
  const named = await pool.query({ name: 'by-name', text: 'select name from js_items where name = $1', values: ['a'] });
  assert.strictEqual(named.rows[0].name, 'a');
  const arr = await pool.query({ text: 'select 1 as a, 2 as b', rowMode: 'array' });
  assert.deepStrictEqual(arr.rows, [[1, 2]]);
  await pool.end();
}

async function knexGroup() {
  const knex = require('knex')({ client: 'pg', connection: conn });
  try {
    await knex.schema.dropTableIfExists('k_orders');
    await knex.schema.dropTableIfExists('k_users');
    await knex.schema.createTable('k_users', t => {
      t.increments('id'); t.string('email').notNullable().unique(); t.integer('age');
      t.boolean('active').defaultTo(true); t.timestamps(true, true); t.jsonb('prefs'); t.uuid('uid');
      t.enu('role', ['admin', 'user']).defaultTo('user'); t.decimal('score', 8, 3);
    });
    await knex.schema.createTable('k_orders', t => {
      t.bigIncrements('id'); t.integer('user_id').unsigned().references('id').inTable('k_users').onDelete('CASCADE');
      t.float('total'); t.text('note'); t.index(['user_id', 'total']);
    });
    assert.ok(await knex.schema.hasTable('k_users'));
    assert.ok(await knex.schema.hasColumn('k_users', 'email'));
    assert.ok(!(await knex.schema.hasColumn('k_users', 'nope')));
    const [u] = await knex('k_users').insert({ email: 'a@x', age: 30, prefs: { dark: true }, uid: '6f1c2b1e-8a4e-4f6e-9a1e-1b2c3d4e5f60' }).returning(['id', 'email', 'created_at', 'role']);
    assert.strictEqual(u.id, 1); assert.strictEqual(u.role, 'user');
    await knex('k_orders').insert([{ user_id: u.id, total: 9.5 }, { user_id: u.id, total: 1.25, note: 'n' }]);
    const rows = await knex('k_users').join('k_orders', 'k_users.id', 'k_orders.user_id').select('email').sum({ s: 'total' }).groupBy('email');
    assert.deepStrictEqual(rows, [{ email: 'a@x', s: 10.75 }]);
    await knex.transaction(async trx => {
      await trx('k_users').where({ id: u.id }).update({ age: 31, updated_at: knex.fn.now() });
      await trx('k_orders').where('total', '<', 2).del();
    });
    assert.strictEqual((await knex('k_users').first('age')).age, 31);
    await assert.rejects(knex('k_users').insert({ email: 'a@x' }), e => e.code === '23505');
    await knex.schema.alterTable('k_users', t => { t.string('nick', 40); t.renameColumn('age', 'years'); });
    await knex.schema.alterTable('k_users', t => { t.dropColumn('nick'); });
    const info = await knex('k_users').columnInfo();
    assert.strictEqual(info.email.type, 'character varying');
    assert.strictEqual(info.email.maxLength, 255);
    assert.strictEqual(info.years.type, 'integer');
    // Migrations: knex_migrations + knex_migrations_lock, with the lock taken FOR UPDATE.
    const fs = require('fs'), path = require('path'), os = require('os');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'knexmig-'));
    fs.writeFileSync(path.join(dir, '20260101000000_init.js'),
      "exports.up = k => k.schema.createTable('k_mig', t => { t.increments(); t.string('name'); });\n" +
      "exports.down = k => k.schema.dropTable('k_mig');\n");
    await knex.schema.dropTableIfExists('k_mig');
    await knex.schema.dropTableIfExists('knex_migrations');
    await knex.schema.dropTableIfExists('knex_migrations_lock');
    const [batch, log] = await knex.migrate.latest({ directory: dir });
    assert.strictEqual(log.length, 1);
    assert.ok(await knex.schema.hasTable('k_mig'));
    await knex.migrate.rollback({ directory: dir });
    assert.ok(!(await knex.schema.hasTable('k_mig')));
    fs.rmSync(dir, { recursive: true });
  } finally { await knex.destroy(); }
}

async function sequelizeGroup() {
  const { Sequelize, DataTypes, Op } = require('sequelize');
  const s = new Sequelize(database, user, null, { host: '127.0.0.1', port, dialect: 'postgres', logging: false });
  try {
    const Author = s.define('Author', { name: { type: DataTypes.STRING, allowNull: false }, born: DataTypes.DATEONLY,
      kind: DataTypes.ENUM('person', 'org'), meta: DataTypes.JSONB, tags: DataTypes.ARRAY(DataTypes.STRING) });
    const Book = s.define('Book', { title: DataTypes.STRING, pages: DataTypes.INTEGER, price: DataTypes.DECIMAL(8, 2), uuid: { type: DataTypes.UUID, defaultValue: DataTypes.UUIDV4 } },
      { indexes: [{ fields: ['title'] }, { unique: true, fields: ['uuid'] }] });
    Author.hasMany(Book); Book.belongsTo(Author);
    await s.sync({ force: true });
    await s.sync({ alter: true });
    const a = await Author.create({ name: 'Ann', born: '1970-01-02', kind: 'person', meta: { x: 1 }, tags: ['a', 'b'] });
    await Book.bulkCreate([{ title: 'T1', pages: 100, price: '9.99', AuthorId: a.id }, { title: 'T2', pages: 200, AuthorId: a.id }]);
    const found = await Author.findAll({ include: Book, order: [[Book, 'pages', 'DESC']] });
    assert.strictEqual(found.length, 1); assert.strictEqual(found[0].Books.length, 2);
    assert.strictEqual(found[0].Books[0].pages, 200); assert.deepStrictEqual(found[0].tags, ['a', 'b']);
    assert.strictEqual(found[0].born, '1970-01-02');
    const n = await Book.count({ where: { pages: { [Op.gt]: 150 } } });
    assert.strictEqual(n, 1);
    await s.transaction(async t => { await Book.update({ pages: 300 }, { where: { title: 'T2' }, transaction: t }); });
    assert.strictEqual((await Book.findOne({ where: { title: 'T2' } })).pages, 300);
    await assert.rejects(s.transaction(async t => { await Book.destroy({ where: {}, transaction: t }); throw new Error('boom'); }), /boom/);
    assert.strictEqual(await Book.count(), 2);
    const [up] = await Author.upsert({ id: a.id, name: 'Anna' });
    assert.strictEqual(up.name, 'Anna');
    const max = await Book.max('pages'); assert.strictEqual(max, 300);
    const qi = s.getQueryInterface();
    const desc = await qi.describeTable('Books');
    assert.strictEqual(desc.title.type, 'CHARACTER VARYING(255)');
    assert.ok(desc.id.primaryKey);
    await qi.addColumn('Books', 'isbn', { type: DataTypes.STRING(20) });
    await qi.removeColumn('Books', 'isbn');
    const idx = await qi.showIndex('Books');
    assert.ok(idx.some(i => i.unique && i.fields.some(f => f.attribute === 'uuid')), JSON.stringify(idx));
  } finally { await s.close(); }
}

async function typeormGroup() {
  require('reflect-metadata');
  const { DataSource, EntitySchema } = require('typeorm');
  const User = new EntitySchema({ name: 'TUser', tableName: 't_user', columns: {
    id: { type: 'int', primary: true, generated: true }, name: { type: 'varchar', length: 100 },
    email: { type: 'varchar', unique: true }, createdAt: { type: 'timestamptz', createDate: true },
    balance: { type: 'numeric', precision: 12, scale: 2, default: 0 }, data: { type: 'jsonb', nullable: true },
    status: { type: 'enum', enum: ['new', 'done'], default: 'new' } },
    relations: { posts: { type: 'one-to-many', target: 'TPost', inverseSide: 'author' } } });
  const Post = new EntitySchema({ name: 'TPost', tableName: 't_post', columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' }, title: { type: 'text' }, views: { type: 'int', default: 0 } },
    relations: { author: { type: 'many-to-one', target: 'TUser', joinColumn: true, onDelete: 'CASCADE' } },
    indices: [{ columns: ['title'] }] });
  const ds = new DataSource({ type: 'postgres', ...conn, username: user, entities: [User, Post], synchronize: false, logging: false });
  await ds.initialize();
  try {
    await ds.query('drop table if exists t_post'); await ds.query('drop table if exists t_user');
    await ds.query('drop type if exists t_user_status_enum');
    await ds.synchronize();
    await ds.synchronize(); // a second run finds nothing to change
    const pending = await ds.driver.createSchemaBuilder().log();
    assert.deepStrictEqual(pending.upQueries.map(q => q.query), []);
    const users = ds.getRepository('TUser'), posts = ds.getRepository('TPost');
    const u = await users.save({ name: 'u', email: 'u@x', data: { a: [1] } });
    assert.strictEqual(u.status, 'new'); assert.strictEqual(u.balance, '0.00');
    await posts.save([{ title: 'p1', author: u }, { title: 'p2', author: u, views: 5 }]);
    const got = await users.findOne({ where: { id: u.id }, relations: { posts: true } });
    assert.strictEqual(got.posts.length, 2);
    const qb = await posts.createQueryBuilder('p').leftJoinAndSelect('p.author', 'a').where('p.views >= :v', { v: 1 }).getMany();
    assert.strictEqual(qb.length, 1); assert.strictEqual(qb[0].author.email, 'u@x');
    await ds.transaction(async m => { await m.increment('TPost', { title: 'p1' }, 'views', 3); });
    assert.strictEqual((await posts.findOneBy({ title: 'p1' })).views, 3);
    const [list, count] = await posts.findAndCount({ order: { views: 'DESC' }, take: 1, skip: 0 });
    assert.strictEqual(count, 2); assert.strictEqual(list[0].title, 'p2');
    await users.delete(u.id);
    assert.strictEqual(await posts.count(), 0);
  } finally { await ds.destroy(); }
}

(async () => {
  const only = process.argv[2];
  for (const [name, fn] of [['node-postgres', pgDriver], ['Knex', knexGroup], ['Sequelize', sequelizeGroup], ['TypeORM', typeormGroup]])
    if (!only || only === name) await group(name, fn);
  const failed = Object.keys(groups);
  console.log(`FAILED: ${JSON.stringify(failed)}`);
  process.exit(failed.length ? 1 : 0);
})();
