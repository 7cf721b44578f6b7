import { createHmac } from "node:crypto";
import type { AlertPayload } from "@gradcheck/contracts";

/** The headers a receiver verifies: see `signatureOf`. */
export const SIGNATURE_HEADER = "x-gradcheck-signature";
export const TIMESTAMP_HEADER = "x-gradcheck-timestamp";
export const DELIVERY_HEADER = "x-gradcheck-delivery";

/** How long one delivery waits for the receiver. */
const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * `sha256=<hex>`: the HMAC-SHA256, under the audit's secret, of `<timestamp>.<body>`. The
 * timestamp (Unix seconds) in the signed text lets a receiver refuse a replayed delivery.
 */
export function signatureOf(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export class WebhookError extends Error {
  override name = "WebhookError";
}

/** One delivery of an alert; throws a WebhookError unless the receiver answers 2xx. */
export async function sendWebhook(url: string, secret: string, payload: AlertPayload, now: Date = new Date()): Promise<void> {
  const body = JSON.stringify(payload);
  const timestamp = String(Math.floor(now.getTime() / 1000));
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "gradcheck-alerts",
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signatureOf(secret, timestamp, body),
        [DELIVERY_HEADER]: payload.alert,
      },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new WebhookError(`the webhook at ${url} could not be reached (${cause?.code ?? cause?.message ?? (error as Error).message})`);
  }
  await response.body?.cancel().catch(() => undefined);
  if (!response.ok) throw new WebhookError(`the webhook at ${url} answered ${response.status}`);
}

/** Delays between attempts: 1 s, 2 s, 4 s, … capped at a minute (the coordinator's queue uses the same). */
export const WEBHOOK_ATTEMPTS = 8;
export const WEBHOOK_BACKOFF_MS = 1000;
export const backoffMs = (attempt: number): number => Math.min(60_000, WEBHOOK_BACKOFF_MS * 2 ** (attempt - 1));
