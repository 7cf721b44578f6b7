-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Model" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Checkpoint" (
    "id" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "contentHash" TEXT NOT NULL,
    "step" INTEGER,
    "dtype" TEXT NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Checkpoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Check" (
    "id" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "checkpointId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "options" JSONB NOT NULL,
    "optionsHash" TEXT NOT NULL,
    "backend" TEXT NOT NULL,
    "verdict" TEXT,
    "relativeDifference" DOUBLE PRECISION,
    "report" JSONB,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Check_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TensorResult" (
    "id" TEXT NOT NULL,
    "checkId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "shape" INTEGER[],
    "relativeDifference" DOUBLE PRECISION NOT NULL,
    "maxAbsError" DOUBLE PRECISION NOT NULL,
    "verdict" TEXT NOT NULL,
    "checked" INTEGER NOT NULL,
    "kinks" INTEGER NOT NULL,

    CONSTRAINT "TensorResult_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorstCoordinate" (
    "id" TEXT NOT NULL,
    "checkId" TEXT NOT NULL,
    "tensor" TEXT NOT NULL,
    "rank" INTEGER NOT NULL,
    "index" INTEGER[],
    "numeric" DOUBLE PRECISION NOT NULL,
    "analytic" DOUBLE PRECISION NOT NULL,
    "absError" DOUBLE PRECISION NOT NULL,
    "relativeError" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "WorstCoordinate_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Diagnosis" (
    "id" TEXT NOT NULL,
    "checkId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "code" TEXT NOT NULL,
    "tensors" TEXT[],
    "message" TEXT NOT NULL,
    "evidence" JSONB NOT NULL,

    CONSTRAINT "Diagnosis_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ShardResult" (
    "id" TEXT NOT NULL,
    "checkId" TEXT NOT NULL,
    "shardIndex" INTEGER NOT NULL,
    "start" INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    "numeric" BYTEA NOT NULL,
    "status" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ShardResult_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Model_name_key" ON "Model"("name");

-- CreateIndex
CREATE INDEX "Checkpoint_modelId_step_idx" ON "Checkpoint"("modelId", "step");

-- CreateIndex
CREATE UNIQUE INDEX "Checkpoint_modelId_contentHash_key" ON "Checkpoint"("modelId", "contentHash");

-- CreateIndex
CREATE INDEX "Check_checkpointId_optionsHash_idx" ON "Check"("checkpointId", "optionsHash");

-- CreateIndex
CREATE INDEX "Check_modelId_createdAt_idx" ON "Check"("modelId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "TensorResult_checkId_name_key" ON "TensorResult"("checkId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "WorstCoordinate_checkId_tensor_rank_key" ON "WorstCoordinate"("checkId", "tensor", "rank");

-- CreateIndex
CREATE UNIQUE INDEX "ShardResult_checkId_shardIndex_key" ON "ShardResult"("checkId", "shardIndex");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey"("hash");

-- AddForeignKey
ALTER TABLE "Checkpoint" ADD CONSTRAINT "Checkpoint_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Check" ADD CONSTRAINT "Check_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Check" ADD CONSTRAINT "Check_checkpointId_fkey" FOREIGN KEY ("checkpointId") REFERENCES "Checkpoint"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TensorResult" ADD CONSTRAINT "TensorResult_checkId_fkey" FOREIGN KEY ("checkId") REFERENCES "Check"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorstCoordinate" ADD CONSTRAINT "WorstCoordinate_checkId_fkey" FOREIGN KEY ("checkId") REFERENCES "Check"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Diagnosis" ADD CONSTRAINT "Diagnosis_checkId_fkey" FOREIGN KEY ("checkId") REFERENCES "Check"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ShardResult" ADD CONSTRAINT "ShardResult_checkId_fkey" FOREIGN KEY ("checkId") REFERENCES "Check"("id") ON DELETE CASCADE ON UPDATE CASCADE;
