import { describe, expect, it } from "vitest";
import { lazyPage, preloadPages } from "./lazyPage";

describe("lazyPage", () => {
  it("fetches a page declared by a page that was itself fetched lazily", async () => {
    const fetched: string[] = [];
    const inner = async () => {
      fetched.push("inner");
      return { Inner: () => null };
    };
    const outer = async () => {
      fetched.push("outer");
      // Like a lazily fetched module that declares its own lazy pages when it is evaluated.
      lazyPage(inner, "Inner");
      return { Outer: () => null };
    };
    lazyPage(outer, "Outer");

    await preloadPages();

    expect(fetched).toEqual(["outer", "inner"]);
  });
});
