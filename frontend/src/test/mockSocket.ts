/** The socket stand-in of the capture SDK's tests, for the app's tests too. */
export * from "../../packages/capture/test/mockSocket";
