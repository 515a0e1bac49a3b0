import { formatDuration } from "../format";
import { ApiError } from "./client";

/** Why a one-time code was refused, in words (attempts left, or that it expired). */
export function codeErrorMessage(err: ApiError): string {
  if (err.code !== "invalid_code") return err.detail;
  if (err.problem.reason === "expired") return "That code has expired. Ask for a new one.";
  const left = err.problem.attempts_left;
  if (left === undefined) return "That code is wrong or has expired.";
  return `That code is wrong. ${left} ${left === 1 ? "try" : "tries"} left.`;
}

/** The message for an error a form shows above its fields (field errors go under fields). */
export function errorMessage(err: unknown): string {
  if (!(err instanceof ApiError)) return "Something went wrong. Try again.";
  if (err.status === 429) {
    return err.retryAfter ? `Too many attempts. Try again in ${formatDuration(err.retryAfter)}.` : err.detail;
  }
  return codeErrorMessage(err);
}
