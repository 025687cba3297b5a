import pg from "pg";
import { createPool, type CreatePoolOptions } from "../lib/db/create-pool.ts";
import { quoteIdent } from "../lib/db/quote-ident.ts";
import { infraUrls, uniqueTestName } from "./infra-context.ts";

export interface TestSchema {
  /** A fresh, empty schema of its own. */
  readonly schema: string;
  readonly databaseUrl: string;
  /** A pool whose connections see only `schema` (search_path). */
  readonly pool: pg.Pool;
  /** One more pool on the schema (e.g. a second instance); drop() ends it too. */
  createPool(options?: Partial<CreatePoolOptions>): pg.Pool;
  /** Ends the pools and drops the schema with everything in it. */
  drop(): Promise<void>;
}

/**
 * A schema of its own for a test file, in the run's database:
 *
 *   const db = await createTestSchema("item-store");
 *   afterAll(() => db.drop());
 */
export async function createTestSchema(label = "schema"): Promise<TestSchema> {
  const { databaseUrl } = infraUrls();
  const schema = uniqueTestName(label);
  await withAdminClient(databaseUrl, (client) => client.query(`CREATE SCHEMA ${quoteIdent(schema)}`));

  const pools: pg.Pool[] = [];
  const newPool = (options: Partial<CreatePoolOptions> = {}): pg.Pool => {
    const pool = createPool({ applicationName: `test:${label}`, max: 5, ...options, url: databaseUrl, schema });
    pools.push(pool);
    return pool;
  };
  const pool = newPool();

  return {
    schema,
    databaseUrl,
    pool,
    createPool: newPool,
    async drop() {
      await Promise.all(pools.splice(0).map((each) => each.end()));
      await withAdminClient(databaseUrl, (client) => client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`));
    },
  };
}

async function withAdminClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "test:admin" });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
