import { lazy, type ComponentType, type LazyExoticComponent } from "react";

// A page takes whatever props it declares; `React.lazy` keeps them.
type Page = ComponentType<any>;

// Every page's loader, so tests can fetch them all up front (preloadPages).
const loaders = new Set<() => Promise<unknown>>();

/**
 * A page whose code is fetched when it is first shown: `name` is the component the module exports.
 * Declared once per page at module level, like `React.lazy`.
 */
export function lazyPage<K extends string, M extends Record<K, Page>>(
  load: () => Promise<M>,
  name: K,
): LazyExoticComponent<M[K]> {
  loaders.add(load);
  return lazy(async () => ({ default: (await load())[name] }));
}

/**
 * Fetches every lazy page, then those the fetched modules declared, until no new one appears.
 * Tests call it first, so a wait for a page is never spent on its first compile.
 */
export async function preloadPages(): Promise<void> {
  const fetched = new Set<() => Promise<unknown>>();
  for (;;) {
    const pending = [...loaders].filter((load) => !fetched.has(load));
    if (pending.length === 0) return;
    for (const load of pending) fetched.add(load);
    await Promise.all(pending.map((load) => load()));
  }
}
