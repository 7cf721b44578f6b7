import { shardResultsPath } from "@gradcheck/contracts";
import { shardResultsBody, type ShardResult } from "@gradcheck/engine";
import { answerOf, causeOf, CoordinatorRequestError, isPermanentStatus, type CheckpointSource } from "./coordinator-http.js";

/** What became of a shard's results: stored now, stored by an earlier attempt, or not wanted (the check has finished). */
export type UploadOutcome = "stored" | "stored before" | "not needed";

/**
 * Hands a shard's results to the coordinator, which stores them in PostgreSQL before it
 * answers: once this resolves, aggregation will find them. A check that has finished or was
 * cancelled meanwhile answers 409, and its results are dropped.
 */
export async function uploadShardResults(source: CheckpointSource, checkId: string, result: ShardResult): Promise<UploadOutcome> {
  const { index, start, end } = result.shard;
  const url = `${source.server}${shardResultsPath(checkId, index)}?start=${start}&end=${end}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "PUT",
      headers: { authorization: `Bearer ${source.key}`, "content-type": "application/octet-stream" },
      body: shardResultsBody(result),
    });
  } catch (error) {
    throw new CoordinatorRequestError(`cannot hand in shard ${index} of check ${checkId}: PUT ${url} failed: ${causeOf(error)}`, false);
  }
  if (response.status === 409) {
    await response.body?.cancel();
    return "not needed";
  }
  if (!response.ok) {
    throw new CoordinatorRequestError(`cannot hand in shard ${index} of check ${checkId}: PUT ${url} ${await answerOf(response)}`, isPermanentStatus(response.status));
  }
  const answer = (await response.json().catch(() => ({}))) as { stored?: unknown };
  return answer.stored === false ? "stored before" : "stored";
}
