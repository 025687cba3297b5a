const key = "connect-mesh.dashboard.token";

/** The caller's token for this tab only (sessionStorage): gone when the tab closes. */
export const tokenStore = {
  read(): string | undefined {
    try {
      return sessionStorage.getItem(key) ?? undefined;
    } catch {
      return undefined;
    }
  },
  write(token: string): void {
    try {
      sessionStorage.setItem(key, token);
    } catch {}
  },
  clear(): void {
    try {
      sessionStorage.removeItem(key);
    } catch {}
  },
};
