/**
 * The signed-in key, kept in sessionStorage only: it lives as long as the tab, is never written to
 * localStorage or a cookie, and sign-out removes it.
 */
const KEY = 'governor.apiKey';

export interface KeyStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const session = (storage: KeyStorage) => ({
  key: (): string | undefined => storage.getItem(KEY) ?? undefined,
  signIn: (key: string) => storage.setItem(KEY, key),
  signOut: () => storage.removeItem(KEY),
});
export type Session = ReturnType<typeof session>;
