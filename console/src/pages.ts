/**
 * The console's pages: each a module with the scopes it needs. The navigation offers the pages the key
 * may open and names those it may not, with the scope missing. Adding a page is adding one entry here.
 */
import type { ComponentType } from 'preact';
import type { Scope } from './api/types.ts';
import type { PageProps } from './context.ts';
import { CustomersPage } from './pages/customers.tsx';
import { FinancePage } from './pages/finance.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { PolicyPage } from './pages/policy/page.tsx';

export interface Page {
  /** The hash route: `#/policy`. */
  id: string;
  title: string;
  /** For whom, in the navigation's tooltip and the page's header. */
  audience: string;
  /** The key needs one of these scopes (admin opens everything). */
  needs: readonly Scope[];
  component: ComponentType<PageProps>;
}

export const PAGES: readonly Page[] = [
  {
    id: 'overview',
    title: 'Overview',
    audience: 'everyone',
    needs: ['reports:read', 'policy:read'],
    component: OverviewPage,
  },
  {
    id: 'policy',
    title: 'Policy',
    audience: 'marketers',
    needs: ['policy:read'],
    component: PolicyPage,
  },
  {
    id: 'finance',
    title: 'Finance',
    audience: 'finance',
    needs: ['reports:read'],
    component: FinancePage,
  },
  {
    id: 'customers',
    title: 'Customers',
    audience: 'support',
    needs: ['preferences:read'],
    component: CustomersPage,
  },
];

export const hasScope = (scopes: readonly Scope[], scope: Scope) =>
  scopes.includes(scope) || scopes.includes('admin');

export const canOpen = (page: Page, scopes: readonly Scope[]) => page.needs.some((s) => hasScope(scopes, s));
