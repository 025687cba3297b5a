// The seed stack's backend, built only as a benchmark baseline: Express serving GET /v1/items/:id from one
// Valkey GET of the item's JSON, as the seeds did. `node bench/seed/express-item-server.ts PORT REDIS_URL KEY_PREFIX`
import express from "express";
import { Redis } from "ioredis";

const [port, redisUrl, prefix] = process.argv.slice(2) as [string, string, string];
const redis = new Redis(redisUrl);
const app = express();
app.disable("x-powered-by");
app.get("/v1/items/:id", async (req, res) => {
  try {
    const cached = await redis.get(`${prefix}${req.params.id}`);
    if (cached === null) {
      res.status(404).json({ error: "not found" });
      return;
    }
    res.json(JSON.parse(cached));
  } catch {
    res.status(503).json({ error: "cache unavailable" });
  }
});
const server = app.listen(Number(port), "127.0.0.1");
process.on("SIGTERM", () => {
  server.close();
  redis.disconnect();
  process.exit(0);
});
