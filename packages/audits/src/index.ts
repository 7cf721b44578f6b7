export { modeFor } from "./policy.js";
export { fileDecision, type FileDecision, type FileObservation, type RecordedObservation } from "./stability.js";
export { regressionsOf } from "./regression.js";
export { alertsForCheck, refusalOf, type AlertDraft, type PreviousCheck } from "./alerts.js";
export { backoffMs, DELIVERY_HEADER, sendWebhook, SIGNATURE_HEADER, signatureOf, TIMESTAMP_HEADER, WEBHOOK_ATTEMPTS, WEBHOOK_BACKOFF_MS, WebhookError } from "./webhook.js";
export { findCheckpointFiles, inWritingOrder, SourceError, stepFromFileName, type FoundFile } from "./scan.js";
export { describeSchedule, formatDuration, parseDuration, scheduleProblem } from "./schedule.js";
