/** The socket stand-in of the capture SDK's tests, for the app's tests too. */
import { waitFor } from "@testing-library/react";
import { expect } from "vitest";
import type { MockSocket } from "../../packages/capture/test/mockSocket";

export * from "../../packages/capture/test/mockSocket";

/** The first socket the app opened: capture starts once the person's consent is read. */
export async function firstSocket(sockets: MockSocket[]): Promise<MockSocket> {
  await waitFor(() => expect(sockets.length).toBeGreaterThan(0));
  return sockets[0];
}
