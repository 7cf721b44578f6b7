-- AlterTable
ALTER TABLE "Check" ADD COLUMN     "checkpointFile" TEXT,
ADD COLUMN     "run" TEXT NOT NULL DEFAULT 'default',
ADD COLUMN     "specVersion" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "step" INTEGER;

-- CreateTable
CREATE TABLE "ModelVersion" (
    "id" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "spec" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelVersion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ModelVersion_modelId_version_key" ON "ModelVersion"("modelId", "version");

-- CreateIndex
CREATE INDEX "Check_modelId_run_step_idx" ON "Check"("modelId", "run", "step");

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Checks recorded before runs existed keep their checkpoint's step as their own.
UPDATE "Check" SET "step" = "Checkpoint"."step" FROM "Checkpoint" WHERE "Check"."checkpointId" = "Checkpoint"."id";

-- Every model registered before versions existed has its spec as version 1.
INSERT INTO "ModelVersion" ("id", "modelId", "version", "spec", "createdAt") SELECT gen_random_uuid()::text, "id", 1, "spec", "createdAt" FROM "Model";
