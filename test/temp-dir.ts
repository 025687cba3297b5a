import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A fresh folder under os.tmpdir(). mkdtemp makes it 0700; it is opened to 0711 (traverse, not
 * list) so that a PostgreSQL started inside it as the `postgres` account, when tests run as root,
 * can reach its data folder.
 */
export async function createTempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `${prefix}-`));
  await chmod(path, 0o711);
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
