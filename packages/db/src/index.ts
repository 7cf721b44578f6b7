export { createClient, type CreateClientOptions } from "./client.js";
export { loadMigrations, migratePglite, migratePostgres, type Migration, type MigrateResult } from "./migrate.js";
export { HistoryRepository, type FinishedCheck, type HistoryEntry, type HistoryFilter } from "./history.repository.js";
export { ApiKeyRepository, type CreatedKey, type ListedKey, type RevokeOutcome, type VerifiedKey } from "./api-key.repository.js";
export { ShardResultStore, type StoredShardResult } from "./shard-result.store.js";
export { canonicalHash } from "./canonical-hash.js";
export { Prisma, PrismaClient } from "./generated/prisma/client.js";
export { ensureDatabase } from "./ensure-database.js";
export { journalDir, journalFinishedCheck, takeJournal, type JournalSink, type TakenJournal } from "./journal.js";
