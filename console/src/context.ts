/** What every page is given: the API client for the signed-in key, its scopes, the locale's formats. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient } from './api/client.ts';
import type { KeyInfo, Scope } from './api/types.ts';
import type { Format } from './format.ts';

export interface ConsoleContext {
  api: ApiClient;
  key: KeyInfo;
  format: Format;
  /** Whether the key has `scope` (or admin). */
  can(scope: Scope): boolean;
  /** Today as the reports count days: the UTC date. */
  today(): string;
  now(): Date;
}

export const Console = createContext<ConsoleContext | undefined>(undefined);

export function useConsole(): ConsoleContext {
  const context = useContext(Console);
  if (!context) throw new Error('useConsole outside the signed-in console');
  return context;
}

export interface PageProps {
  /** The rest of the hash route after the page id: `#/policy/history` → `history`. */
  rest: string;
}
