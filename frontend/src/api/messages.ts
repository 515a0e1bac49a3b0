import { codeErrorMessage as sdkCodeErrorMessage } from "@bbauth/capture";
import { formatDuration } from "../format";
import { ApiError } from "./client";

/** Why a one-time code was refused, in words (attempts left, or that it expired). */
export function codeErrorMessage(err: ApiError): string {
  return sdkCodeErrorMessage(err.code, err.problem, err.detail);
}

/** The message for an error a form shows above its fields (field errors go under fields). */
export function errorMessage(err: unknown): string {
  if (!(err instanceof ApiError)) return "Something went wrong. Try again.";
  if (err.status === 429) {
    return err.retryAfter ? `Too many attempts. Try again in ${formatDuration(err.retryAfter)}.` : err.detail;
  }
  return codeErrorMessage(err);
}
