-- AlterTable
ALTER TABLE "Check" ADD COLUMN     "checkpointFile" TEXT,
ADD COLUMN     "run" TEXT NOT NULL DEFAULT 'default',
ADD COLUMN     "step" INTEGER;

-- CreateIndex
CREATE INDEX "Check_modelId_run_step_idx" ON "Check"("modelId", "run", "step");

-- Checks recorded before runs existed keep their checkpoint's step as their own.
UPDATE "Check" SET "step" = "Checkpoint"."step" FROM "Checkpoint" WHERE "Check"."checkpointId" = "Checkpoint"."id";
