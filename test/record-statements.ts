import type pg from "pg";

/**
 * Appends to `sent` the first words of every statement that `pool`'s connections send from now on, in order:
 * each is a round trip. Tests count them to pin how many round trips a call takes.
 */
export function recordStatements(pool: pg.Pool, sent: string[]): void {
  pool.on("connect", (client: pg.PoolClient) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    Object.assign(client, {
      query: (...args: unknown[]) => {
        const first = args[0] as string | { text: string };
        sent.push((typeof first === "string" ? first : first.text).trim().split(/\s+/).slice(0, 4).join(" "));
        return query(...args);
      },
    });
  });
}
